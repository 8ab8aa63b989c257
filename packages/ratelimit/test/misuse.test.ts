import { describe, expect, test } from 'vitest';
import {
  fixedWindow,
  gcra,
  rateLimitHeaders,
  slidingWindowCounter,
  slidingWindowLog,
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
});
