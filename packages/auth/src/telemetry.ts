import {
  type Attributes,
  inSpan,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  type TracerLike,
} from '@switchboard/hot-path';

/**
 * A `telemetry` option: `true` for the global OpenTelemetry API (`@opentelemetry/api`, an optional
 * peer dependency), or the API object itself (`import * as api from '@opentelemetry/api'`).
 * @default false (no tracing code runs)
 */
export type Telemetry = boolean | { trace: object; context: object; metrics?: object };

const INSTRUMENTATION_SCOPE = '@switchboard/auth';

/**
 * The spans of `createAuth`: `switchboard.auth.<operation>`, internal, each holding the store
 * (and bus) I/O the operation does. No token, password or hash ever reaches an attribute.
 */
export class AuthTracing {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;

  constructor(api: OpenTelemetryApi) {
    this.#api = api;
    this.#tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
  }

  /**
   * `fn` as a function whose every call runs in the span `switchboard.auth.<operation>`;
   * `attributesOf` describes a result on the span.
   */
  wrap<A extends unknown[], R>(
    operation: string,
    fn: (...args: A) => Promise<R>,
    attributesOf?: (result: R) => Attributes,
  ): (...args: A) => Promise<R> {
    const name = `switchboard.auth.${operation}`;
    return (...args) =>
      inSpan(this.#api, this.#tracer, name, {}, async (span) => {
        const result = await fn(...args);
        if (attributesOf) span.setAttributes(attributesOf(result));
        return result;
      });
  }

  /** Adds what an operation learnt midway (a refresh's outcome) to its span, the active one. */
  annotate(attributes: Attributes): void {
    this.#api.trace.getActiveSpan()?.setAttributes(attributes);
  }
}

/** The tracing a `telemetry` option asks for, or `undefined` when it is off. */
export function authTracing(owner: string, option: Telemetry | undefined): AuthTracing | undefined {
  const api = resolveTelemetry(owner, option);
  return api ? new AuthTracing(api) : undefined;
}

/** What a Postgres statement's span says of it (OpenTelemetry's database conventions). */
export interface Statement {
  /** `db.query.summary` and the span name: what the statement does, e.g. `rotate refresh token`. */
  summary: string;
  /** `db.operation.name`, when the statement is one operation (`SELECT`). */
  operation?: string;
  /** `db.collection.name`, when the statement touches one table. */
  table?: string;
  /**
   * Run outside requests too (the revocation poll, every few seconds on every instance): traced
   * only inside a span of the caller's, so an idle instance makes no traces.
   */
  background?: boolean;
}

/**
 * A store's statement spans: `describe` names each statement it runs (by its exact text), and
 * `run` runs one in a CLIENT span with `db.system.name` `postgresql`, `db.query.summary`,
 * `db.query.text` (parameterized: it holds no values) and, on failure, the SQLSTATE as
 * `db.response.status_code`.
 */
export function statementTracing(owner: string, option: Telemetry | undefined, statements: Map<string, Statement>) {
  const api = resolveTelemetry(owner, option);
  if (!api) return undefined;
  const tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
  const spans = new Map<string, { name: string; background: boolean; attributes: Attributes }>();
  for (const [text, { summary, operation, table, background }] of statements) {
    const attributes: Attributes = { 'db.system.name': 'postgresql', 'db.query.summary': summary };
    if (operation) attributes['db.operation.name'] = operation;
    if (table) attributes['db.collection.name'] = table;
    attributes['db.query.text'] = text;
    spans.set(text, { name: summary, background: background === true, attributes: Object.freeze(attributes) });
  }
  return <R>(text: string, query: () => Promise<R>): Promise<R> => {
    const span = spans.get(text);
    if (!span || (span.background && !api.trace.getActiveSpan())) return query();
    const options = { kind: SPAN_KIND.client, attributes: span.attributes };
    return inSpan(api, tracer, span.name, options, (active) =>
      query().catch((error: unknown) => {
        const sqlState = (error as { code?: unknown } | null)?.code;
        if (typeof sqlState === 'string') active.setAttribute('db.response.status_code', sqlState);
        throw error;
      }),
    );
  };
}
