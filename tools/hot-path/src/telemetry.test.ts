import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  inSpan,
  isValidSpanContext,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  spanContextFromHeaders,
  traceHeaders,
} from './telemetry.ts';

// The real SDK, registered globally as an application would (NodeSDK does the same).
const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  api.context.setGlobalContextManager(contextManager.enable());
  api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});
afterAll(() => {
  api.trace.disable();
  api.context.disable();
});
beforeEach(() => exporter.reset());

const otel = api as unknown as OpenTelemetryApi;

describe('resolveTelemetry', () => {
  test('off by default and with false; true loads the global API; an API object is used as given', () => {
    expect(resolveTelemetry('createThing', undefined)).toBeUndefined();
    expect(resolveTelemetry('createThing', false)).toBeUndefined();
    expect(resolveTelemetry('createThing', true)?.trace.getTracer).toBe(api.trace.getTracer);
    expect(resolveTelemetry('createThing', api)).toBe(api);
  });

  test('anything else is a TypeError naming the factory', () => {
    for (const bad of [null, 1, 'yes', {}, { trace: {} }, { trace: api.trace }]) {
      expect(() => resolveTelemetry('createRelay', bad)).toThrow(/^createRelay: `telemetry` must be true/);
    }
  });
});

describe('inSpan', () => {
  const tracer = otel.trace.getTracer('test');

  test('the span is active while fn and what it awaits run, and ends when fn settles', async () => {
    const seen: (string | undefined)[] = [];
    const value = await inSpan(otel, tracer, 'outer', { kind: SPAN_KIND.producer }, async (span) => {
      seen.push(api.trace.getActiveSpan()?.spanContext().spanId);
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(api.trace.getActiveSpan()?.spanContext().spanId);
      expect(exporter.getFinishedSpans()).toHaveLength(0);
      return span.spanContext().spanId;
    });
    expect(seen).toEqual([value, value]);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('outer');
    expect(span?.kind).toBe(api.SpanKind.PRODUCER);
  });

  test('a child of the active span unless root: true', () => {
    inSpan(otel, tracer, 'parent', {}, (parent) => {
      inSpan(otel, tracer, 'child', {}, () => undefined);
      inSpan(otel, tracer, 'own trace', { root: true }, () => undefined);
      const spans = exporter.getFinishedSpans();
      const child = spans.find((s) => s.name === 'child');
      const root = spans.find((s) => s.name === 'own trace');
      expect(child?.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(child?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(root?.spanContext().traceId).not.toBe(parent.spanContext().traceId);
      expect(root?.parentSpanContext).toBeUndefined();
    });
  });

  test('a remote parent (a traceparent read from a message) makes the span its child', () => {
    const remote = spanContextFromHeaders({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    inSpan(otel, tracer, 'outer', {}, () => {
      inSpan(otel, tracer, 'delivery', { parent: remote }, () => undefined);
    });
    const delivery = exporter.getFinishedSpans().find((span) => span.name === 'delivery');
    expect(delivery?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(delivery?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
  });

  test('a throw and a rejection are recorded (status ERROR, the exception event) and passed on unchanged', async () => {
    const thrown = new Error('sync boom');
    expect(() =>
      inSpan(otel, tracer, 'sync', {}, () => {
        throw thrown;
      }),
    ).toThrow(thrown);
    const rejected = new Error('async boom');
    await expect(inSpan(otel, tracer, 'async', {}, async () => Promise.reject(rejected))).rejects.toBe(rejected);
    for (const span of exporter.getFinishedSpans()) {
      expect(span.status.code).toBe(api.SpanStatusCode.ERROR);
      expect(span.events.map((event) => event.name)).toEqual(['exception']);
    }
    expect(exporter.getFinishedSpans().map((span) => span.status.message)).toEqual(['sync boom', 'async boom']);
  });
});

describe('traceparent', () => {
  test('round trip: the headers of a span name it, and the parsed context links back to it', () => {
    const tracer = api.trace.getTracer('test');
    const span = tracer.startSpan('enqueue');
    const headers = traceHeaders(span.spanContext());
    expect(headers?.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    const linked = spanContextFromHeaders(headers);
    expect(linked).toEqual({ ...span.spanContext(), isRemote: true, traceState: undefined });
    const publish = tracer.startSpan('publish', { root: true, links: [{ context: linked as api.SpanContext }] });
    publish.end();
    span.end();
    expect(exporter.getFinishedSpans().find((s) => s.name === 'publish')?.links[0]?.context.spanId).toBe(
      span.spanContext().spanId,
    );
  });

  test('no headers for the no-op API (all-zero ids), and bad stored values give no link', () => {
    expect(traceHeaders(api.INVALID_SPAN_CONTEXT)).toBeUndefined();
    expect(traceHeaders(undefined)).toBeUndefined();
    const good = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(isValidSpanContext(spanContextFromHeaders({ traceparent: good }))).toBe(true);
    for (const traceparent of [
      undefined,
      42,
      '',
      good.toUpperCase(),
      `${good} `,
      good.replace(/^00/, 'ff'),
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      `${good}\n00-1-2-3`,
      `00-${'a'.repeat(32)}-${'b'.repeat(16)}-1`,
    ]) {
      expect(spanContextFromHeaders({ traceparent })).toBeUndefined();
    }
    expect(spanContextFromHeaders(undefined)).toBeUndefined();
  });
});
