import { type AddressInfo, createServer } from 'node:net';
import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { sentinelClientOptions } from '@switchboard/infra';
import { installTestTracing } from '@switchboard/infra/tracing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import { consumeAll, createRateLimiter, fixedWindow, slidingWindowLog, tokenBucket } from '../src/index.ts';
import { createRedisStore } from '../src/redis.ts';

// The real SDK, registered globally as an application's NodeSDK would.
const tracing = installTestTracing();
const { exporter } = tracing;
const redisInfo = inject('infra').redis;
if (!redisInfo) throw new Error('the shared topology has no Redis');
const client = new Redis(sentinelClientOptions(redisInfo));
// A real client that cannot reach Redis: every command fails at once.
const unreachable = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
unreachable.on('error', () => {});
const run = `t${Date.now()}`;

beforeAll(() => {});
beforeEach(() => exporter.reset());
afterAll(() => {
  client.disconnect();
  unreachable.disconnect();
  tracing.uninstall();
});

// Wide enough that a loaded machine never turns a check into a timeout answered by the policy.
const patient = { timeoutMs: 5_000 };
const tracer = api.trace.getTracer('test');
const inRequest = <R>(name: string, fn: () => Promise<R>) =>
  tracer.startActiveSpan(name, (span) => fn().finally(() => span.end()));
const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.name === name);
const only = (name: string): ReadableSpan => {
  const found = spans(name);
  if (found.length !== 1)
    throw new Error(`${found.length} spans ${name}: ${exporter.getFinishedSpans().map((s) => s.name)}`);
  return found[0] as ReadableSpan;
};
const isChildOf = (child: ReadableSpan, parent: ReadableSpan) =>
  child.parentSpanContext?.spanId === parent.spanContext().spanId &&
  child.spanContext().traceId === parent.spanContext().traceId;

describe('createRedisStore telemetry', () => {
  test("a consume is a client span of the caller's, with prefix, algorithm, allowed and remaining", async () => {
    const store = createRedisStore({ client, telemetry: true });
    const prefix = `${run}-fw`;
    const limiter = createRateLimiter({
      ...patient,
      store,
      prefix,
      algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }),
    });
    await inRequest('request 1', () => limiter.consume('user'));
    await inRequest('request 2', () => limiter.consume('user'));
    const [first, second] = spans('switchboard.ratelimit.consume');
    expect(first && isChildOf(first, only('request 1'))).toBe(true);
    expect(second && isChildOf(second, only('request 2'))).toBe(true);
    expect(first?.kind).toBe(api.SpanKind.CLIENT);
    expect(first?.attributes).toEqual({
      'switchboard.ratelimit.prefix': prefix,
      'switchboard.ratelimit.algorithm': 'fixed-window',
      'switchboard.ratelimit.allowed': true,
      'switchboard.ratelimit.remaining': 0,
    });
    expect(second?.attributes).toMatchObject({
      'switchboard.ratelimit.allowed': false,
      'switchboard.ratelimit.remaining': 0,
    });
    expect(second?.status.code).toBe(api.SpanStatusCode.UNSET);
  });

  test('checks batched into one EVALSHA keep a span each, each under its own request, ended when answered', async () => {
    const store = createRedisStore({ client, telemetry: true });
    const limiter = createRateLimiter({
      ...patient,
      store,
      prefix: `${run}-batch`,
      algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }),
    });
    const results = await Promise.all(
      ['a', 'b', 'c'].map((name) => inRequest(`request ${name}`, () => limiter.consume('shared'))),
    );
    expect(results.map((result) => result.allowed)).toEqual([true, true, false]);
    const checks = spans('switchboard.ratelimit.consume');
    expect(checks).toHaveLength(3);
    for (const [index, name] of ['a', 'b', 'c'].entries()) {
      const check = checks.find((span) => isChildOf(span, only(`request ${name}`)));
      expect(check?.attributes['switchboard.ratelimit.allowed']).toBe(index < 2);
      expect(check?.attributes['switchboard.ratelimit.remaining']).toBe(index === 0 ? 1 : 0);
    }
  });

  test('the general script: consume, peek, penalize, consumeAll, block and reset each get their span', async () => {
    const store = createRedisStore({ client, telemetry: true });
    const log = createRateLimiter({
      ...patient,
      store,
      prefix: `${run}-log`,
      algorithm: slidingWindowLog({ limit: 3, windowMs: 60_000 }),
    });
    const bucket = createRateLimiter({
      ...patient,
      store,
      prefix: `${run}-tb`,
      algorithm: tokenBucket({ capacity: 5, refillPerSecond: 1 }),
    });
    await inRequest('request', async () => {
      await log.consume('k');
      await log.peek('k');
      await log.penalize('k');
      await consumeAll([
        { limiter: log, key: 'k' },
        { limiter: bucket, key: 'k' },
      ]);
      await log.block('k', 1_000);
      await log.reset('k');
    });
    const request = only('request');
    const [consume, all] = spans('switchboard.ratelimit.consume');
    expect(consume?.attributes).toEqual({
      'switchboard.ratelimit.prefix': `${run}-log`,
      'switchboard.ratelimit.algorithm': 'sliding-window-log',
      'switchboard.ratelimit.allowed': true,
      'switchboard.ratelimit.remaining': 2,
    });
    expect(only('switchboard.ratelimit.peek').attributes).toMatchObject({ 'switchboard.ratelimit.remaining': 2 });
    expect(only('switchboard.ratelimit.penalize').attributes).toMatchObject({ 'switchboard.ratelimit.remaining': 1 });
    expect(all?.attributes).toEqual({
      'switchboard.ratelimit.prefix': [`${run}-log`, `${run}-tb`],
      'switchboard.ratelimit.algorithm': ['sliding-window-log', 'token-bucket'],
      'switchboard.ratelimit.entries': 2,
      'switchboard.ratelimit.allowed': true,
      'switchboard.ratelimit.remaining': [0, 4],
    });
    expect(only('switchboard.ratelimit.block').attributes).toEqual({
      'db.system.name': 'redis',
      'db.operation.name': 'SET',
      'switchboard.ratelimit.prefix': `${run}-log`,
    });
    expect(only('switchboard.ratelimit.reset').attributes).toMatchObject({ 'db.operation.name': 'DEL' });
    for (const span of exporter.getFinishedSpans()) if (span !== request) expect(isChildOf(span, request)).toBe(true);
  });

  test("a failing Redis ends the check's span in error, with the policy's answer; the caller's result is the policy's", async () => {
    const store = createRedisStore({ client: unreachable, telemetry: true });
    const fast = createRateLimiter({
      store,
      prefix: `${run}-down`,
      algorithm: fixedWindow({ limit: 5, windowMs: 60_000 }),
      onStoreError: 'open',
      retryStoreAfterMs: 0,
      logger: { warn: () => {} },
    });
    const general = createRateLimiter({
      store,
      prefix: `${run}-down-log`,
      algorithm: slidingWindowLog({ limit: 5, windowMs: 60_000 }),
      onStoreError: 'closed',
      retryStoreAfterMs: 0,
      logger: { warn: () => {} },
    });
    expect(await fast.consume('k')).toMatchObject({ allowed: true, degraded: 'open' });
    expect(await general.peek('k')).toMatchObject({ allowed: false, degraded: 'closed' });
    const consume = only('switchboard.ratelimit.consume');
    expect(consume.status.code).toBe(api.SpanStatusCode.ERROR);
    expect(consume.events.map((event) => event.name)).toEqual(['exception']);
    expect(consume.attributes).toMatchObject({
      'switchboard.ratelimit.allowed': true,
      'switchboard.ratelimit.degraded': 'open',
    });
    const peek = only('switchboard.ratelimit.peek');
    expect(peek.status.code).toBe(api.SpanStatusCode.ERROR);
    expect(peek.events[0]?.attributes?.['exception.message']).toMatch(/writeable|offline/i);
  });

  test('a consume Redis does not answer in time ends its span in error with the timeout, when the policy answers', async () => {
    // A server that accepts connections and never replies: the check's answer never arrives.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const mute = new Redis({ port, host: '127.0.0.1', enableReadyCheck: false, maxRetriesPerRequest: null });
    mute.on('error', () => {});
    try {
      const limiter = createRateLimiter({
        store: createRedisStore({ client: mute, telemetry: true }),
        prefix: `${run}-mute`,
        algorithm: fixedWindow({ limit: 5, windowMs: 60_000 }),
        onStoreError: 'closed',
        timeoutMs: 50,
        logger: { warn: () => {} },
      });
      expect(await inRequest('request', () => limiter.consume('k'))).toMatchObject({
        allowed: false,
        degraded: 'closed',
      });
      const consume = only('switchboard.ratelimit.consume');
      expect(isChildOf(consume, only('request'))).toBe(true);
      expect(consume.status.code).toBe(api.SpanStatusCode.ERROR);
      expect(consume.events[0]?.attributes?.['exception.message']).toMatch(/50 ?ms/);
      expect(consume.attributes).toMatchObject({
        'switchboard.ratelimit.allowed': false,
        'switchboard.ratelimit.degraded': 'closed',
      });
    } finally {
      mute.disconnect();
      silent.close();
    }
  });

  test('off (the default): no spans, same answers', async () => {
    const store = createRedisStore({ client });
    const limiter = createRateLimiter({
      ...patient,
      store,
      prefix: `${run}-off`,
      algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }),
    });
    const answers = await inRequest('request', async () => [
      await limiter.consume('u'),
      await limiter.consume('u'),
      await limiter.peek('u'),
    ]);
    expect(answers.map((answer) => answer.allowed)).toEqual([true, false, false]);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['request']);
  });
});
