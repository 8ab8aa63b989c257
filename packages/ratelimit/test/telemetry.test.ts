import * as api from '@opentelemetry/api';
import { type CollectedSeries, createTestMetrics } from '@switchboard/infra/tracing';
import { describe, expect, test } from 'vitest';

import { consumeAll, createMemoryStore, createRateLimiter, fixedWindow, slidingWindowLog } from '../src/index.ts';
import { createRedisStore } from '../src/redis.ts';

// The real metrics SDK, one provider per test (passed in the API object), so a test reads only
// what its own store counted.
function sdkMetrics() {
  const metrics = createTestMetrics();
  return { telemetry: { trace: api.trace, context: api.context, metrics: metrics.provider }, metrics };
}

/** The series counted, as [operation, prefix, outcome, count], sorted. */
const outcomes = (series: CollectedSeries[]) =>
  series
    .map((one) => {
      expect(one).toMatchObject({
        meter: '@switchboard/ratelimit',
        metric: 'switchboard.ratelimit.checks',
        unit: '{check}',
      });
      return [
        one.attributes['switchboard.ratelimit.operation'],
        one.attributes['switchboard.ratelimit.prefix'],
        one.attributes['switchboard.ratelimit.outcome'],
        one.value,
      ];
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('createMemoryStore telemetry', () => {
  test('counts each bound consume by prefix and outcome (fixed window and the general path)', async () => {
    const { telemetry, metrics } = sdkMetrics();
    const store = createMemoryStore({ telemetry });
    const login = createRateLimiter({ store, prefix: 'login', algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }) });
    const send = createRateLimiter({
      store,
      prefix: 'send',
      algorithm: slidingWindowLog({ limit: 1, windowMs: 60_000 }),
    });
    expect((await login.consume('u')).allowed).toBe(true);
    expect((await login.consume('u')).allowed).toBe(false);
    expect((await login.consume('v')).allowed).toBe(true);
    expect((await send.consume('u')).allowed).toBe(true);
    expect((await send.consume('u')).allowed).toBe(false);
    expect(outcomes(await metrics.collect())).toEqual([
      ['consume', 'login', 'allowed', 2],
      ['consume', 'login', 'refused', 1],
      ['consume', 'send', 'allowed', 1],
      ['consume', 'send', 'refused', 1],
    ]);
  });

  test('counts peek, penalize and each entry of consumeAll with their operation', async () => {
    const { telemetry, metrics } = sdkMetrics();
    const store = createMemoryStore({ telemetry });
    const a = createRateLimiter({ store, prefix: 'a', algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }) });
    const b = createRateLimiter({ store, prefix: 'b', algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }) });
    await a.peek('k');
    await b.penalize('k');
    const all = await consumeAll([
      { limiter: a, key: 'k' },
      { limiter: b, key: 'k' },
    ]);
    expect(all.allowed).toBe(false);
    expect(outcomes(await metrics.collect())).toEqual([
      ['consume', 'a', 'allowed', 1],
      ['consume', 'b', 'refused', 1],
      ['peek', 'a', 'allowed', 1],
      ['penalize', 'b', 'allowed', 1],
    ]);
  });

  test('stores of one meter add to the same series; past 1000 prefixes, `_OTHER`', async () => {
    const { telemetry, metrics } = sdkMetrics();
    const limiterOn = (prefix: string) =>
      createRateLimiter({
        store: createMemoryStore({ telemetry }),
        prefix,
        algorithm: fixedWindow({ limit: 5, windowMs: 60_000 }),
      });
    await limiterOn('shared').consume('u');
    await limiterOn('shared').consume('u');
    expect(outcomes(await metrics.collect())).toEqual([['consume', 'shared', 'allowed', 2]]);
    // Prefixes made from request data: the series stop growing at 1000 prefixes.
    const store = createMemoryStore({ telemetry });
    for (let i = 0; i < 1_200; i++) {
      await createRateLimiter({
        store,
        prefix: `tenant-${i}`,
        algorithm: fixedWindow({ limit: 5, windowMs: 60_000 }),
      }).consume('u');
    }
    const series = await metrics.collect();
    const prefixes = new Set(series.map((one) => one.attributes['switchboard.ratelimit.prefix']));
    expect(prefixes.size).toBe(1_001);
    expect(series.find((one) => one.attributes['switchboard.ratelimit.prefix'] === '_OTHER')?.value).toBe(201);
  });

  test('off (the default, or false) counts nothing and answers the same', async () => {
    for (const telemetry of [undefined, false]) {
      const store = createMemoryStore(telemetry === undefined ? {} : { telemetry });
      const limiter = createRateLimiter({ store, prefix: 'p', algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }) });
      expect(await limiter.consume('u')).toEqual({
        allowed: true,
        limit: 1,
        remaining: 0,
        resetMs: 60_000,
        retryAfterMs: 0,
      });
    }
  });

  test('telemetry without metrics counts nothing and still answers', async () => {
    const store = createMemoryStore({ telemetry: { trace: api.trace, context: api.context } });
    const limiter = createRateLimiter({ store, prefix: 'p', algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }) });
    expect((await limiter.consume('u')).allowed).toBe(true);
  });

  test('a bad telemetry value is a TypeError naming the factory', () => {
    for (const telemetry of [{}, 'yes', { trace: {}, context: {} }, null]) {
      expect(() => createMemoryStore({ telemetry: telemetry as never })).toThrow(
        expect.objectContaining({
          name: 'TypeError',
          message: expect.stringMatching(/^createMemoryStore: `telemetry`/),
        }),
      );
      const client = { call: () => Promise.resolve(null) };
      expect(() => createRedisStore({ client, telemetry: telemetry as never })).toThrow(
        expect.objectContaining({
          name: 'TypeError',
          message: expect.stringMatching(/^createRedisStore: `telemetry`/),
        }),
      );
    }
  });
});
