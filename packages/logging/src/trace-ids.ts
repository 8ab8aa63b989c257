import { createRequire } from 'node:module';
import type { LoggerTelemetry } from './options.ts';

/** The active span's ids, when one is active and valid. */
export type ActiveSpanIds = () => { traceId: string; spanId: string } | undefined;

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);

/**
 * The global `@opentelemetry/api`, loaded synchronously (createLogger is synchronous) and only
 * when asked for. The CommonJS build has `__filename` (and an empty `import.meta`); the ESM
 * build has `import.meta.url` (and no `__filename`): each resolves the peer from this package's
 * own location, whatever the working directory.
 */
function loadOpenTelemetryApi(): LoggerTelemetry {
  const here = typeof __filename === 'string' ? __filename : import.meta.url;
  try {
    return createRequire(here)('@opentelemetry/api') as LoggerTelemetry;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new TypeError(
        'createLogger: `telemetry: true` needs @opentelemetry/api (npm install @opentelemetry/api), or pass the API object as `telemetry`',
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * A function reading the active span's ids through `telemetry` (`true`: the global API). A span
 * whose context is invalid (the no-op span of an API without an SDK) gives no ids, and a
 * `getActiveSpan` that throws is treated as "no span": a log line never fails for tracing.
 */
export function activeSpanIds(telemetry: LoggerTelemetry | true): ActiveSpanIds {
  const api = telemetry === true ? loadOpenTelemetryApi() : telemetry;
  const trace = api.trace;
  return () => {
    let context: { traceId: string; spanId: string } | undefined;
    try {
      context = trace.getActiveSpan()?.spanContext();
    } catch {
      return undefined;
    }
    if (context === undefined) return undefined;
    const { traceId, spanId } = context;
    if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
    if (traceId === INVALID_TRACE_ID || spanId === INVALID_SPAN_ID) return undefined;
    if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId)) return undefined;
    return { traceId, spanId };
  };
}
