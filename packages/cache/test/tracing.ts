import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { installTestTracing } from '@switchboard/infra/tracing';
import { afterAll, beforeEach } from 'vitest';

type Attributes = Record<string, unknown>;

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
 * The real trace and context APIs with a meter that records each count it is given, as the
 * `telemetry` option: simpler to assert on than the metrics SDK's readers.
 */
export function recordingTelemetry() {
  const counts: Attributes[] = [];
  const metrics = {
    getMeter: () => ({
      createCounter: (name: string) => ({
        add: (value: number, attributes?: Attributes) => counts.push({ name, value, ...attributes }),
      }),
      createHistogram: () => ({ record: () => {} }),
    }),
  };
  return { telemetry: { trace: api.trace, context: api.context, metrics }, counts };
}
