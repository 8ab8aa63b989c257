import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createTestMetrics, installTestTracing } from '@switchboard/infra/tracing';
import { afterAll, beforeEach } from 'vitest';

/**
 * The real OpenTelemetry SDK, registered globally (as an application's NodeSDK would) for the
 * test file that calls this, with helpers to read what it recorded.
 */
export function useTracing() {
  const tracing = installTestTracing();
  const { exporter } = tracing;
  beforeEach(() => tracing.reset());
  afterAll(() => tracing.uninstall());

  const tracer = api.trace.getTracer('test');
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.name === name);
  return {
    exporter,
    tracer,
    spans,
    /** Runs `fn` in an active span named `name` (a request), ended when `fn` settles. */
    inRequest: <R>(name: string, fn: () => Promise<R>): Promise<R> =>
      tracer.startActiveSpan(name, (span) => fn().finally(() => span.end())),
    /** The one finished span named `name` (throws if there are none or several). */
    only(name: string): ReadableSpan {
      const found = spans(name);
      if (found.length !== 1)
        throw new Error(`${found.length} spans ${name}: ${exporter.getFinishedSpans().map((s) => s.name)}`);
      return found[0] as ReadableSpan;
    },
    /** The span names recorded so far. */
    names: (): string[] => exporter.getFinishedSpans().map((span) => span.name),
  };
}

export const isChildOf = (child: ReadableSpan, parent: ReadableSpan): boolean =>
  child.parentSpanContext?.spanId === parent.spanContext().spanId &&
  child.spanContext().traceId === parent.spanContext().traceId;

/**
 * The real trace and context APIs and a metrics SDK of its own, as the `telemetry` option, so a
 * test reads only what its own cache counted: `counts()` is `switchboard.cache.hits` by series,
 * as `'<tier> <outcome> <count>'`, sorted.
 */
export function recordingTelemetry() {
  const metrics = createTestMetrics();
  const counts = async (): Promise<string[]> =>
    (await metrics.collect())
      .filter((series) => series.meter === '@switchboard/cache' && series.metric === 'switchboard.cache.hits')
      .map((series) => `${series.attributes.tier} ${series.attributes.outcome} ${series.value}`)
      .sort();
  return { telemetry: { trace: api.trace, context: api.context, metrics: metrics.provider }, counts };
}
