import { Writable } from 'node:stream';
import * as api from '@opentelemetry/api';
import { installTestTracing } from '@switchboard/infra/tracing';
import { createGraphQLError, createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { type RequestLoggingOptions, useRequestLogging } from '../src/yoga.ts';

const tracing = installTestTracing();
beforeEach(() => tracing.reset());
afterAll(() => tracing.uninstall());

const tracer = api.trace.getTracer('test');
const schema = createSchema({
  typeDefs: 'type Query { activeSpan: String, work: Boolean, boom: String, refused: String }',
  resolvers: {
    Query: {
      activeSpan: () => api.trace.getActiveSpan()?.spanContext().spanId ?? null,
      // A package's own span inside the operation (as auth's or tx's would be).
      work: () =>
        tracer.startActiveSpan('package work', (span) => {
          span.end();
          return true;
        }),
      boom: () => {
        throw new Error('database exploded');
      },
      refused: () => {
        throw createGraphQLError('not yours', { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
      },
    },
  },
});

function start(options: Partial<RequestLoggingOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    { serviceName: 'test', telemetry: true },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  );
  const yoga = createYoga({
    schema,
    logging: false,
    plugins: [useRequestLogging({ logger, telemetry: true, ...options })],
  });
  const ask = async (query: string) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  };
  return { ask, lines };
}

describe('useRequestLogging with telemetry: a span per operation', () => {
  test('named after the operation; resolvers and the packages they call run in it; its line carries its trace id', async () => {
    const { ask, lines } = start();
    const answer = await ask('query Who { activeSpan work }');
    const operation = tracing.span('query Who');
    expect(operation.kind).toBe(api.SpanKind.SERVER);
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'Who' });
    expect(answer.data?.activeSpan).toBe(operation.spanContext().spanId);
    expect(tracing.span('package work').parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
    const line = lines.find((entry) => entry['graphql.operation.name'] === 'Who');
    expect(line?.['trace.id']).toBe(operation.spanContext().traceId);
    expect(line?.['span.id']).toBe(operation.spanContext().spanId);
  });

  test('a child of the active span when there is one (an HTTP server span of the application)', async () => {
    const { ask } = start();
    const request = tracer.startSpan('GET /graphql');
    await api.context.with(api.trace.setSpan(api.context.active(), request), () => ask('query Child { work }'));
    request.end();
    const operation = tracing.span('query Child');
    expect(operation.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(operation.kind).toBe(api.SpanKind.INTERNAL);
  });

  test('a server fault sets the span in error; a client error does not', async () => {
    const { ask } = start();
    await ask('query Broken { boom }');
    await ask('query Mine { refused }');
    expect(tracing.span('query Broken').status).toMatchObject({
      code: api.SpanStatusCode.ERROR,
      message: 'database exploded',
    });
    expect(tracing.span('query Mine').status.code).toBe(api.SpanStatusCode.UNSET);
  });

  test('off by default: no span, and a bad telemetry value is a TypeError', async () => {
    const { ask } = start({ telemetry: false });
    await ask('query Quiet { work }');
    expect(tracing.spans().map((span) => span.name)).toEqual(['package work']);
    expect(() => useRequestLogging({ logger: console as never, telemetry: 'yes' as never })).toThrow(
      /^useRequestLogging: `telemetry`/,
    );
  });
});
