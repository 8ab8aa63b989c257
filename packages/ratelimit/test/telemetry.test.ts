import * as api from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';

type Attributes = Record<string, unknown>;

import { consumeAll, createMemoryStore, createRateLimiter, fixedWindow, slidingWindowLog } from '../src/index.ts';
import { createRedisStore } from '../src/redis.ts';

// A meter that records what it is given, passed as the API's `metrics` (the part of the API the
// store uses): simpler to assert on than the metrics SDK's readers.
function recordingMetrics() {
  const counts: { name: string; value: number; attributes: Attributes | undefined }[] = [];
  const instruments: string[] = [];
  const metrics = {
    getMeter: (scope: string) => {
      instruments.push(`meter ${scope}`);
      return {
        createCounter: (name: string) => {
          instruments.push(name);
          return { add: (value: number, attributes?: Attributes) => counts.push({ name, value, attributes }) };
        },
        createHistogram: () => ({ record: () => {} }),
      };
    },
  };
  return { telemetry: { trace: api.trace, context: api.context, metrics }, counts, instruments };
}

const outcomes = (counts: ReturnType<typeof recordingMetrics>['counts']): Attributes[] =>
  counts.map(({ name, value, attributes }) => ({ name, value, ...attributes }));

describe('createMemoryStore telemetry', () => {
  test('counts each bound consume by prefix and outcome (fixed window and the general path)', async () => {
    const { telemetry, counts, instruments } = recordingMetrics();
    const store = createMemoryStore({ telemetry });
    expect(instruments).toEqual(['meter @switchboard/ratelimit', 'switchboard.ratelimit.checks']);
    const login = createRateLimiter({ store, prefix: 'login', algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }) });
    const send = createRateLimiter({
      store,
      prefix: 'send',
      algorithm: slidingWindowLog({ limit: 1, windowMs: 60_000 }),
    });
    expect((await login.consume('u')).allowed).toBe(true);
    expect((await login.consume('u')).allowed).toBe(false);
    expect((await send.consume('u')).allowed).toBe(true);
    expect((await send.consume('u')).allowed).toBe(false);
    const check = { name: 'switchboard.ratelimit.checks', value: 1, 'switchboard.ratelimit.operation': 'consume' };
    expect(outcomes(counts)).toEqual([
      { ...check, 'switchboard.ratelimit.prefix': 'login', 'switchboard.ratelimit.outcome': 'allowed' },
      { ...check, 'switchboard.ratelimit.prefix': 'login', 'switchboard.ratelimit.outcome': 'refused' },
      { ...check, 'switchboard.ratelimit.prefix': 'send', 'switchboard.ratelimit.outcome': 'allowed' },
      { ...check, 'switchboard.ratelimit.prefix': 'send', 'switchboard.ratelimit.outcome': 'refused' },
    ]);
  });

  test('counts peek, penalize and each entry of consumeAll with their operation', async () => {
    const { telemetry, counts } = recordingMetrics();
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
    expect(
      outcomes(counts).map((count) => [
        count['switchboard.ratelimit.operation'],
        count['switchboard.ratelimit.prefix'],
        count['switchboard.ratelimit.outcome'],
      ]),
    ).toEqual([
      ['peek', 'a', 'allowed'],
      ['penalize', 'b', 'allowed'],
      ['consume', 'a', 'allowed'],
      ['consume', 'b', 'refused'],
    ]);
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
