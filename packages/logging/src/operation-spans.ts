import {
  failSpan,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  type SpanLike,
  type TracerLike,
} from '@switchboard/hot-path';

/**
 * `useRequestLogging`'s `telemetry`: `true` for the global OpenTelemetry API (`@opentelemetry/api`,
 * an optional peer dependency), or the API object itself. @default false
 */
export type RequestLoggingTelemetry = boolean | { trace: object; context: object };

/** An operation's span, and how to run code with it active. */
export interface OperationSpan {
  readonly span: SpanLike;
  readonly run: <R>(fn: () => R) => R;
}

/**
 * One span per GraphQL operation, named as OpenTelemetry's GraphQL conventions say (`query Name`,
 * `graphql.operation.type` / `.name`): a child of the active span (an HTTP server span, when the
 * application has one), else the request's root (kind server). Everything the operation runs
 * (resolvers, the packages' own spans, the operation's log line) happens with it active.
 */
export class OperationSpans {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;

  constructor(api: OpenTelemetryApi) {
    this.#api = api;
    this.#tracer = api.trace.getTracer('@switchboard/logging');
  }

  start(): OperationSpan {
    const api = this.#api;
    const parent = api.context.active();
    const kind = api.trace.getActiveSpan() === undefined ? SPAN_KIND.server : SPAN_KIND.internal;
    const span = this.#tracer.startSpan('GraphQL operation', { kind }, parent);
    const active = api.trace.setSpan(parent, span);
    return { span, run: (fn) => api.context.with(active, fn) };
  }

  /** Names the span after its operation, records a server fault, and ends it. */
  end(span: SpanLike, type: string | undefined, name: string | undefined, fault: { cause: unknown } | undefined): void {
    if (type !== undefined) {
      span.updateName(name === undefined ? type : `${type} ${name}`);
      span.setAttributes({
        'graphql.operation.type': type,
        ...(name === undefined ? {} : { 'graphql.operation.name': name }),
      });
    }
    if (fault) failSpan(span, fault.cause);
    span.end();
  }
}

/** The spans `telemetry` asks for, or `undefined` when it is off. */
export function operationSpans(option: RequestLoggingTelemetry | undefined): OperationSpans | undefined {
  const api = resolveTelemetry('useRequestLogging', option);
  return api ? new OperationSpans(api) : undefined;
}
