import {
  type Attributes,
  inSpan,
  type OpenTelemetryApi,
  SPAN_KIND,
  type SpanLike,
  type TracerLike,
} from '@switchboard/hot-path';
import type * as pg from 'pg';
import { formatLsn } from './lsn.ts';
import type { RouterNode } from './nodes.ts';
import type { Statement } from './types.ts';

/**
 * A `telemetry` option: `true` for the global OpenTelemetry API (`@opentelemetry/api`, an optional
 * peer dependency), or the API object itself (`import * as api from '@opentelemetry/api'`).
 * @default false (no tracing code runs)
 */
export type Telemetry = boolean | { trace: object; context: object; metrics?: object };

/** Why a read runs on the primary although replicas exist (`switchboard.db_router.reason`). */
export type PrimaryReason = 'consistency' | 'no-replica' | 'token-not-reached' | 'invalid-token';

// The first keyword of the statement: cheap, and what OpenTelemetry calls the operation.
const OPERATION = /^\s*([A-Za-z]{2,20})\b/;

/**
 * The router's spans, per OpenTelemetry's database conventions: one `client` span per query
 * through the router (`read`, `write`, a reader's `query`, `captureToken`), named
 * `<operation> <database>`, with the node it ran on; a retried read gets a `retry` event and the
 * attributes of the node that answered; a read waiting for a replica to replay its token has a
 * `token wait` child span.
 */
export class RouterTracing {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;
  readonly #nodes = new Map<RouterNode, Attributes>();
  readonly #primary: RouterNode;
  readonly #namespace: string | undefined;

  constructor(api: OpenTelemetryApi, primary: RouterNode, replicas: readonly RouterNode[]) {
    this.#api = api;
    this.#primary = primary;
    this.#tracer = api.trace.getTracer('@switchboard/db-router');
    for (const node of [primary, ...replicas]) this.#nodes.set(node, nodeAttributes(node));
    this.#namespace = this.#nodes.get(primary)?.['db.namespace'] as string | undefined;
  }

  /** Runs a query's routing and execution in its span; `fn` gets the span for {@link ranOn} and the rest. */
  query<R>(statement: Statement, fn: (span: SpanLike) => Promise<R>): Promise<R> {
    const text = typeof statement === 'string' ? statement : statement?.text;
    const operation = typeof text === 'string' ? OPERATION.exec(text)?.[1]?.toUpperCase() : undefined;
    const attributes: Attributes = { 'db.system.name': 'postgresql' };
    if (operation !== undefined) attributes['db.operation.name'] = operation;
    if (this.#namespace !== undefined) attributes['db.namespace'] = this.#namespace;
    const name = [operation, this.#namespace].filter(Boolean).join(' ') || 'postgresql';
    return this.#run(name, attributes, fn);
  }

  /** `captureToken()`'s span: the primary's WAL position (shared by the callers of one turn). */
  capture(fn: () => Promise<string>): Promise<string> {
    const attributes: Attributes = {
      'db.system.name': 'postgresql',
      'db.operation.name': 'SELECT',
      'db.query.summary': 'SELECT pg_current_wal_lsn',
      'switchboard.db_router.operation': 'capture-token',
      ...(this.#namespace === undefined ? {} : { 'db.namespace': this.#namespace }),
    };
    return this.#run('SELECT pg_current_wal_lsn', attributes, async (span) => {
      this.ranOn(span, this.#primary);
      const token = await fn();
      span.setAttribute('switchboard.db_router.token', token);
      return token;
    });
  }

  /** Records the node a query is sent to (again after a retry: the node that answered wins). */
  ranOn(span: SpanLike, node: RouterNode): void {
    const attributes = this.#nodes.get(node);
    if (attributes) span.setAttributes(attributes);
  }

  /** Records why a read went to the primary. */
  onPrimary(span: SpanLike, reason: PrimaryReason): void {
    span.setAttribute('switchboard.db_router.reason', reason);
  }

  /** Records the read's causal token. */
  token(span: SpanLike, lsn: bigint): void {
    span.setAttribute('switchboard.db_router.token_lsn', formatLsn(lsn));
  }

  /** A read that failed on `from` and runs again on `to`. */
  retried(span: SpanLike, from: RouterNode, to: RouterNode, error: unknown, connectionLost: boolean): void {
    span.setAttribute('switchboard.db_router.retried', true);
    span.addEvent('retry', {
      'switchboard.db_router.retry.from': from.name,
      'switchboard.db_router.retry.to': to.name,
      'switchboard.db_router.retry.reason': connectionLost ? 'connection-error' : 'recovery-conflict',
      'error.type': errorType(error),
    });
  }

  /** A failed query's SQLSTATE (the error itself is recorded by the span). */
  failed(span: SpanLike, error: unknown): void {
    const code = sqlState(error);
    if (code !== undefined) span.setAttribute('db.response.status_code', code);
  }

  /**
   * The wait for a replica to replay a read's token: a child span of the read, with the replica
   * asked, how many times, and whether it got there (`false`: the read goes to the primary).
   */
  tokenWait<R>(lsn: bigint, candidate: RouterNode, fn: (wait: TokenWait) => Promise<R>): Promise<R> {
    const attributes: Attributes = {
      'switchboard.db_router.token_lsn': formatLsn(lsn),
      'switchboard.db_router.node.name': candidate.name,
    };
    return inSpan(this.#api, this.#tracer, 'token wait', { kind: SPAN_KIND.internal, attributes }, (span) => {
      let probes = 0;
      return fn({
        probed: () => {
          probes++;
        },
        done: (reached) => {
          span.setAttributes({
            'switchboard.db_router.token_probes': probes,
            'switchboard.db_router.token_reached': reached,
          });
        },
      });
    });
  }

  #run<R>(name: string, attributes: Attributes, fn: (span: SpanLike) => Promise<R>): Promise<R> {
    return inSpan(this.#api, this.#tracer, name, { kind: SPAN_KIND.client, attributes }, (span) =>
      fn(span).catch((error: unknown) => {
        this.failed(span, error);
        throw error;
      }),
    );
  }
}

/** What the token wait reports to its span. */
export interface TokenWait {
  probed(): void;
  done(reached: boolean): void;
}

/** The node's place in the cluster and its address, from its pool's settings (read once). */
function nodeAttributes(node: RouterNode): Attributes {
  const config = node.clientConfig as pg.ClientConfig;
  let host = typeof config.host === 'string' ? config.host : undefined;
  let port = typeof config.port === 'number' ? config.port : undefined;
  let database = typeof config.database === 'string' ? config.database : undefined;
  // pg lets the connection string win over the separate fields; so do we.
  if (typeof config.connectionString === 'string' && /^postgres(ql)?:\/\//i.test(config.connectionString)) {
    try {
      const url = new URL(config.connectionString);
      if (url.hostname) host = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1');
      if (url.port) port = Number(url.port);
      const path = decodeURIComponent(url.pathname.slice(1));
      if (path) database = path;
    } catch {
      // An address we cannot read is left out of the spans; the connection itself is pg's business.
    }
  }
  const attributes: Attributes = {
    'switchboard.db_router.node': node.role,
    'switchboard.db_router.node.name': node.name,
    'server.address': host ?? 'localhost',
    'server.port': port ?? 5432,
  };
  if (database !== undefined) attributes['db.namespace'] = database;
  return attributes;
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** `error.type`: the SQLSTATE, the system error code, or the class name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return error instanceof Error ? error.constructor.name : typeof error;
}
