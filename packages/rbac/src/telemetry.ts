import {
  type Attributes,
  type CounterSeries,
  HotCounter,
  inSpan,
  type OpenTelemetryApi,
  SPAN_KIND,
  type TracerLike,
} from '@switchboard/hot-path';

/**
 * A `telemetry` option: `true` for the global OpenTelemetry API (`@opentelemetry/api`, an optional
 * peer dependency), or the API object itself (`import * as api from '@opentelemetry/api'`).
 * @default false (no tracing code runs)
 */
export type Telemetry = boolean | { trace: object; context: object; metrics?: object };

/** The name of rbac's tracer and meter. */
export const INSTRUMENTATION_SCOPE = '@switchboard/rbac';

// The counter every check adds one to.
const DECISIONS_METRIC = 'switchboard.rbac.decisions';

/**
 * Distinct permissions given their own attribute set; past it, a permission is counted as
 * `_OTHER` (OpenTelemetry's word for a value outside the known set). Permissions come from code,
 * so an application stays far below; a caller passing request data as a permission cannot grow
 * the metric's series (nor this map) without bound.
 */
const MAX_PERMISSIONS = 1_000;

/**
 * The decisions counter: `switchboard.rbac.decisions`, one per check, with
 * `switchboard.rbac.decision` (`allowed` / `denied`) and `switchboard.rbac.permission`. Never a
 * user id, a scope or a resource: they would make a series per user or per chat. A check adds
 * one to a series it found in a map (see `HotCounter`: the SDK reads the sums when it collects).
 */
export function decisionCounter(api: OpenTelemetryApi): ((permission: string, allowed: boolean) => void) | undefined {
  const meter = api.metrics?.getMeter(INSTRUMENTATION_SCOPE);
  if (!meter) return undefined;
  const counter = HotCounter.of(
    meter,
    DECISIONS_METRIC,
    { description: 'Authorization checks answered, by outcome and permission', unit: '{decision}' },
    MAX_PERMISSIONS,
  );
  const byPermission = new Map<string, readonly [allowed: CounterSeries, denied: CounterSeries]>();
  const seriesOf = (permission: string) => {
    const known = byPermission.get(permission);
    if (known) return known;
    const pair = [
      counter.series(permission, 'allowed', (name) => outcome('allowed', name)),
      counter.series(permission, 'denied', (name) => outcome('denied', name)),
    ] as const;
    // Past the limit, the `_OTHER` pair: not kept under this permission's name.
    if (!pair[0].overflow) byPermission.set(permission, pair);
    return pair;
  };
  return (permission, allowed) => {
    seriesOf(permission)[allowed ? 0 : 1].add();
  };
}

const outcome = (decision: 'allowed' | 'denied', permission: string): Attributes => ({
  'switchboard.rbac.decision': decision,
  'switchboard.rbac.permission': permission,
});

/**
 * The spans of rbac's I/O: a grant load (`switchboard.rbac.load_grants`) and a grant change
 * (`switchboard.rbac.grant` / `switchboard.rbac.revoke` / `switchboard.rbac.revoke_scope`, the store write and the bus message
 * inside it). Checks answered from the cache make none.
 */
export class RbacTracing {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;

  constructor(api: OpenTelemetryApi) {
    this.#api = api;
    this.#tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
  }

  /** Runs a grant store load in its span; the span gets how many grants came back. */
  load<G>(fn: () => Promise<G[]>): Promise<G[]> {
    return inSpan(this.#api, this.#tracer, 'switchboard.rbac.load_grants', {}, async (span) => {
      const grants = await fn();
      span.setAttribute('switchboard.rbac.grants.count', grants.length);
      return grants;
    });
  }

  /** Runs a grant, revoke or scope revoke (store write, then the bus message) in its span. */
  change<R>(
    kind: 'grant' | 'revoke' | 'revoke_scope',
    role: string | undefined,
    scope: string | undefined,
    fn: () => Promise<R>,
  ): Promise<R> {
    const attributes: Attributes = {};
    if (role !== undefined) attributes['switchboard.rbac.role'] = role;
    if (scope !== undefined) attributes['switchboard.rbac.scope'] = scope;
    return inSpan(this.#api, this.#tracer, `switchboard.rbac.${kind}`, { attributes }, fn);
  }
}

/** A Postgres statement's span: the name and `db.*` attributes of OpenTelemetry's database conventions. */
export interface StatementSpan {
  name: string;
  attributes: Attributes;
}

/**
 * The span of one statement on a single table (`SELECT switchboard_rbac_grants`): kind CLIENT,
 * `db.system.name` `postgresql`, the operation, the table and the statement text (parameterized:
 * it holds no values).
 */
export function statementSpan(operation: string, table: string, text: string): StatementSpan {
  return {
    name: `${operation} ${table}`,
    attributes: Object.freeze({
      'db.system.name': 'postgresql',
      'db.operation.name': operation,
      'db.collection.name': table,
      'db.query.text': text,
    }),
  };
}

/** Runs a statement in its span, recording the SQLSTATE of a failure as `db.response.status_code`. */
export function inStatementSpan<R>(
  api: OpenTelemetryApi,
  tracer: TracerLike,
  statement: StatementSpan,
  fn: () => Promise<R>,
): Promise<R> {
  return inSpan(api, tracer, statement.name, { kind: SPAN_KIND.client, attributes: statement.attributes }, (span) =>
    fn().catch((error: unknown) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string') span.setAttribute('db.response.status_code', code);
      throw error;
    }),
  );
}

/**
 * The messaging spans of the Redis bus: `send <channel>` (producer) around a publish, and
 * `process <channel>` (consumer) around the handling of a message, in a trace of its own (the
 * message carries only a user id, so no trace context crosses: instances of other versions
 * keep understanding it).
 */
export class BusTracing {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;
  readonly #send: Attributes;
  readonly #process: Attributes;
  readonly #channel: string;

  /** `sharded`: the bus uses SPUBLISH / SSUBSCRIBE, and the spans' operation names say so. */
  constructor(api: OpenTelemetryApi, channel: string, sharded = false) {
    this.#api = api;
    this.#tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
    this.#channel = channel;
    const common = { 'messaging.system': 'redis', 'messaging.destination.name': channel };
    this.#send = {
      ...common,
      'messaging.operation.type': 'send',
      'messaging.operation.name': sharded ? 'spublish' : 'publish',
    };
    this.#process = {
      ...common,
      'messaging.operation.type': 'process',
      'messaging.operation.name': sharded ? 'smessage' : 'message',
    };
  }

  send<R>(fn: () => Promise<R>): Promise<R> {
    const options = { kind: SPAN_KIND.producer, attributes: this.#send };
    return inSpan(this.#api, this.#tracer, `send ${this.#channel}`, options, fn);
  }

  process(fn: () => void): void {
    const options = { kind: SPAN_KIND.consumer, root: true, attributes: this.#process };
    inSpan(this.#api, this.#tracer, `process ${this.#channel}`, options, fn);
  }
}
