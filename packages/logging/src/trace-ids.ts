import { isValidSpanContext, loadOpenTelemetryApi } from '@switchboard/hot-path';
import type { LoggerTelemetry } from './options.ts';

/** The active span's ids, when one is active and valid. */
export type ActiveSpanIds = () => { traceId: string; spanId: string } | undefined;

/**
 * A function reading the active span's ids through `telemetry` (`true`: the global API, loaded
 * here, once). A span whose context is invalid (the no-op span of an API without an SDK) gives
 * no ids, and a `getActiveSpan` that throws is treated as "no span": a log line never fails for
 * tracing.
 */
export function activeSpanIds(telemetry: LoggerTelemetry | true): ActiveSpanIds {
  const trace = (telemetry === true ? loadOpenTelemetryApi('createLogger') : telemetry).trace;
  return () => {
    let context: { traceId: string; spanId: string; traceFlags: number } | undefined;
    try {
      context = trace.getActiveSpan()?.spanContext();
    } catch {
      return undefined;
    }
    return isValidSpanContext(context) ? { traceId: context.traceId, spanId: context.spanId } : undefined;
  };
}
