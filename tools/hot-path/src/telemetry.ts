import { createRequire } from 'node:module';

/**
 * OpenTelemetry for every package, one way: a package's `telemetry` option is `true` (the global
 * `@opentelemetry/api`, an optional peer loaded only then) or the API object itself (`import * as
 * api from '@opentelemetry/api'`, or a second API instance); off, none of this runs. The types
 * below are the part of the API the packages use, by shape, so no declaration of ours names
 * `@opentelemetry/api` (a user without it installed still typechecks).
 */

/** A span's identity, as `span.spanContext()` gives it. */
export interface SpanContextLike {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: { serialize(): string };
}

export type AttributeValue = string | number | boolean | readonly string[] | readonly number[] | readonly boolean[];
export type Attributes = Record<string, AttributeValue | undefined>;

export interface SpanLike {
  spanContext(): SpanContextLike;
  setAttribute(key: string, value: AttributeValue): unknown;
  setAttributes(attributes: Attributes): unknown;
  addEvent(name: string, attributes?: Attributes): unknown;
  recordException(exception: unknown): void;
  setStatus(status: { code: number; message?: string }): unknown;
  updateName(name: string): unknown;
  isRecording(): boolean;
  end(): void;
}

export interface SpanLinkLike {
  context: SpanContextLike;
  attributes?: Attributes;
}

export interface SpanOptionsLike {
  kind?: number;
  attributes?: Attributes;
  links?: SpanLinkLike[];
  /** A new trace, whatever the active span (a relay's publish runs later, for many requests). */
  root?: boolean;
}

/** `SpanOptionsLike`, plus a parent from elsewhere (a `traceparent` read from a message). */
export interface InSpanOptions extends SpanOptionsLike {
  /** The span's parent instead of the active span: a remote span context (none: the active span). */
  parent?: SpanContextLike | undefined;
}

export interface TracerLike {
  startSpan(name: string, options?: SpanOptionsLike, context?: unknown): SpanLike;
}

export interface CounterLike {
  add(value: number, attributes?: Attributes): void;
}

export interface HistogramLike {
  record(value: number, attributes?: Attributes): void;
}

/** What an observable instrument's callback is given: one `observe` per series. */
export interface ObservableResultLike {
  observe(value: number, attributes?: Attributes): void;
}

export interface ObservableCounterLike {
  addCallback(callback: (result: ObservableResultLike) => void): void;
}

export interface MeterLike {
  createCounter(name: string, options?: { description?: string; unit?: string }): CounterLike;
  createHistogram(name: string, options?: { description?: string; unit?: string }): HistogramLike;
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): ObservableCounterLike;
}

/** The pieces of `@opentelemetry/api` the packages use. */
export interface OpenTelemetryApi {
  trace: {
    getTracer(name: string, version?: string): TracerLike;
    getActiveSpan(): SpanLike | undefined;
    setSpan(context: unknown, span: SpanLike): unknown;
    wrapSpanContext(spanContext: SpanContextLike): SpanLike;
  };
  context: {
    active(): unknown;
    with<R>(context: unknown, fn: () => R): R;
  };
  metrics?: { getMeter(name: string, version?: string): MeterLike };
}

/** `SpanKind` and `SpanStatusCode` of the API, by value (stable since 1.0). */
export const SPAN_KIND = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const;
const STATUS_ERROR = 2;

/**
 * The API a `telemetry` option names, or `undefined` when telemetry is off. `owner` names the
 * factory in errors (`createRelay`). `true` loads the global API; an object must have the pieces
 * used (`trace`, `context`); anything else is a `TypeError`.
 */
export function resolveTelemetry(owner: string, option: unknown): OpenTelemetryApi | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return loadOpenTelemetryApi(owner);
  const api = option as Partial<OpenTelemetryApi> | null;
  if (
    api === null ||
    typeof api !== 'object' ||
    typeof api.trace?.getTracer !== 'function' ||
    typeof api.trace.getActiveSpan !== 'function' ||
    typeof api.trace.setSpan !== 'function' ||
    typeof api.context?.active !== 'function' ||
    typeof api.context.with !== 'function'
  ) {
    throw new TypeError(
      `${owner}: \`telemetry\` must be true (the global @opentelemetry/api) or the API object (import * as api from '@opentelemetry/api')`,
    );
  }
  return api as OpenTelemetryApi;
}

/**
 * The global `@opentelemetry/api`, loaded synchronously (factories are synchronous) from the
 * package's own location: `__filename` in the CommonJS build, `import.meta.url` in the ESM one.
 */
export function loadOpenTelemetryApi(owner: string): OpenTelemetryApi {
  const here = typeof __filename === 'string' ? __filename : import.meta.url;
  try {
    return createRequire(here)('@opentelemetry/api') as OpenTelemetryApi;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new TypeError(
        `${owner}: \`telemetry: true\` needs @opentelemetry/api (npm install @opentelemetry/api), or pass the API object as \`telemetry\``,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Runs `fn` in a new span (a child of `options.parent`, else of the active span, unless
 * `options.root`), active while `fn` and what it awaits run; ends it when `fn` returns or settles. A throw or rejection is recorded
 * on the span (`recordException`, status ERROR) and passed on unchanged.
 */
export function inSpan<R>(
  api: OpenTelemetryApi,
  tracer: TracerLike,
  name: string,
  options: InSpanOptions,
  fn: (span: SpanLike) => R,
): R {
  const { parent: remote, ...spanOptions } = options;
  const active = api.context.active();
  const parent = isValidSpanContext(remote) ? api.trace.setSpan(active, api.trace.wrapSpanContext(remote)) : active;
  const span = tracer.startSpan(name, spanOptions, parent);
  let result: R;
  try {
    result = api.context.with(api.trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    failSpan(span, error);
    span.end();
    throw error;
  }
  if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') {
    span.end();
    return result;
  }
  return (result as PromiseLike<unknown>).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      failSpan(span, error);
      span.end();
      throw error;
    },
  ) as R;
}

/**
 * Marks a span failed: the exception recorded, status ERROR with its message. For failures that
 * arrive as values (an attempt's outcome, a policy's answer) rather than as throws `inSpan` sees.
 */
export function failSpan(span: SpanLike, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);
// W3C Trace Context, version 00: version-traceid-parentid-flags, lowercase hex.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Whether a span context names a real span (the no-op API's spans are all zeros). */
export function isValidSpanContext(context: SpanContextLike | undefined): context is SpanContextLike {
  return (
    context !== undefined &&
    typeof context.traceId === 'string' &&
    typeof context.spanId === 'string' &&
    TRACE_ID.test(context.traceId) &&
    SPAN_ID.test(context.spanId) &&
    context.traceId !== INVALID_TRACE_ID &&
    context.spanId !== INVALID_SPAN_ID
  );
}

/**
 * The W3C `traceparent` header of a span context (and `tracestate` when it has one), for carrying
 * a trace through a store (the outbox's headers), or `undefined` for an invalid context.
 */
export function traceHeaders(context: SpanContextLike | undefined): Record<string, string> | undefined {
  if (!isValidSpanContext(context)) return undefined;
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, '0');
  const headers: Record<string, string> = { traceparent: `00-${context.traceId}-${context.spanId}-${flags}` };
  const state = context.traceState?.serialize();
  if (state) headers.tracestate = state;
  return headers;
}

/**
 * The span context a `traceparent` header names (remote), or `undefined` when the header is
 * missing or not a valid version-00 value: a stored header is data, and bad data gives no link
 * rather than an error.
 */
export function spanContextFromHeaders(headers: Record<string, unknown> | undefined): SpanContextLike | undefined {
  const value = headers?.traceparent;
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value);
  if (!match) return undefined;
  const context: SpanContextLike = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16),
    isRemote: true,
  };
  return isValidSpanContext(context) ? context : undefined;
}
