import { setTimeout as sleep } from 'node:timers/promises';
import * as api from '@opentelemetry/api';
import { describe, expect, test } from 'vitest';
import { createCache, FetchTimeoutError } from '../src/index.ts';
import { isChildOf, recordingTelemetry, useTracing } from './tracing.ts';

const { exporter, tracer, inRequest, only, names } = useTracing();

describe('createCache telemetry (memory only)', () => {
  test("a miss fills in a span of the caller's; the fetcher's own spans are its children; joiners make none", async () => {
    const cache = createCache({ telemetry: true });
    let runs = 0;
    const fetcher = () =>
      tracer.startActiveSpan('db query', async (span) => {
        runs++;
        await sleep(10);
        span.end();
        return 'value';
      });
    const values = await inRequest('request', () =>
      Promise.all(Array.from({ length: 5 }, () => cache.getOrSet('user:1', fetcher))),
    );
    expect(values).toEqual(Array(5).fill('value'));
    expect(runs).toBe(1);
    const fill = only('switchboard.cache.fill');
    expect(isChildOf(fill, only('request'))).toBe(true);
    expect(isChildOf(only('db query'), fill)).toBe(true);
    expect(fill.kind).toBe(api.SpanKind.INTERNAL);
    expect(fill.attributes).toEqual({ 'switchboard.cache.key': 'user:1' });
    expect(fill.status.code).toBe(api.SpanStatusCode.UNSET);

    exporter.reset();
    expect(await inRequest('hit', () => cache.getOrSet('user:1', fetcher))).toBe('value');
    expect(names()).toEqual(['hit']);
  });

  test('a failing fetcher ends its fill span in error; the caller gets the same error', async () => {
    const cache = createCache({ telemetry: true });
    const failure = new Error('database down');
    await expect(cache.getOrSet('k', () => Promise.reject(failure))).rejects.toBe(failure);
    const fill = only('switchboard.cache.fill');
    expect(fill.status).toEqual({ code: api.SpanStatusCode.ERROR, message: 'database down' });
    expect(fill.events[0]?.attributes).toMatchObject({ 'exception.message': 'database down' });
  });

  test('a fetcher past the hard timeout ends its span with the timeout error', async () => {
    const cache = createCache({ telemetry: true, hardTimeoutMs: 20 });
    await expect(cache.getOrSet('slow', () => sleep(200, 'late'))).rejects.toBeInstanceOf(FetchTimeoutError);
    const fill = only('switchboard.cache.fill');
    expect(fill.status.code).toBe(api.SpanStatusCode.ERROR);
    expect(fill.events[0]?.attributes?.['exception.type']).toBe('FETCH_TIMEOUT');
  });

  test('counts L1 hits and misses in switchboard.cache.hits', async () => {
    const { telemetry, counts } = recordingTelemetry();
    const cache = createCache({ telemetry });
    await cache.getOrSet('a', () => 1);
    await cache.getOrSet('a', () => 1);
    await cache.get('a');
    await cache.get('b');
    expect(await counts()).toEqual(['l1 hit 2', 'l1 miss 2']);
    // The hits and misses of stats() are unchanged by telemetry.
    expect(cache.stats()).toMatchObject({ l1Hits: 2, misses: 2, fetches: 1 });
  });

  test('off (the default): no spans, same values', async () => {
    const cache = createCache();
    expect(await inRequest('request', () => cache.getOrSet('k', () => 'v'))).toBe('v');
    expect(names()).toEqual(['request']);
  });

  test('a bad telemetry value is a TypeError naming createCache', () => {
    for (const telemetry of [{}, 'yes', 1, { trace: {}, context: {} }]) {
      expect(() => createCache({ telemetry: telemetry as never })).toThrow(
        expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/^createCache: `telemetry`/) }),
      );
    }
  });
});
