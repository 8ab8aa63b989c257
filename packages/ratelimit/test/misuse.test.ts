import { describe, expect, test } from 'vitest';
import {
  createMemoryStore,
  createRateLimiter,
  fixedWindow,
  gcra,
  rateLimitHeaders,
  slidingWindowCounter,
  slidingWindowLog,
  storageKey,
  tokenBucket,
} from '../src/index.ts';

describe('misuse gets a clear TypeError', () => {
  test.each([
    ['fixedWindow', fixedWindow],
    ['slidingWindowCounter', slidingWindowCounter],
    ['slidingWindowLog', slidingWindowLog],
    ['gcra', gcra],
    ['tokenBucket', tokenBucket],
  ] as const)('%s() without options names itself and shows a call', (name, algorithm) => {
    expect(() => (algorithm as (options?: unknown) => unknown)()).toThrow(
      new RegExp(`^${name} needs its options, e\\.g\\. ${name}\\(\\{`),
    );
    expect(() => (algorithm as (options?: unknown) => unknown)()).toThrow(TypeError);
  });

  test('rateLimitHeaders without the policy window says what to pass', () => {
    const result = { allowed: true, limit: 10, remaining: 9, resetMs: 1000, retryAfterMs: 0 };
    for (const options of [undefined, {}, { windowMs: 0 }, { windowMs: Number.NaN }]) {
      expect(() => rateLimitHeaders(result as never, options as never)).toThrow(
        /rateLimitHeaders\(result, \{ windowMs \}\) needs the policy window in ms/,
      );
    }
    expect(rateLimitHeaders(result as never, { windowMs: 60_000 }).RateLimit).toBe('"default";r=9;t=1');
  });

  test('hashTag must be a function, and the tag it gives a non-empty string', async () => {
    const store = createMemoryStore();
    const algorithm = fixedWindow({ limit: 5, windowMs: 60_000 });
    expect(() => createRateLimiter({ store, algorithm, hashTag: 'user' as never })).toThrow(
      /^createRateLimiter: `hashTag` must be a function/,
    );
    const empty = createRateLimiter({ store, algorithm, prefix: 'empty-tag', hashTag: () => '' });
    await expect(empty.consume('u1')).rejects.toThrow(/^hashTag must return a non-empty string, got an empty string/);
    await expect(empty.consume('u1')).rejects.toThrow(TypeError);
    // A tag is encoded like a key: braces and separators in it cannot escape its place.
    expect(storageKey('p', 'k', '{evil}|x')).toBe('p|{%7bevil%7d%7cx}k');
  });
});
