import type * as api from '@opentelemetry/api';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { sentinelClientOptions, testKeyPrefix } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { type CacheOptions, createCache } from '../src/index.ts';
import { createRedisTier } from '../src/redis.ts';
import { isChildOf, recordingTelemetry, useTracing } from './tracing.ts';

const { exporter, inRequest, spans, only, names } = useTracing();
const info = inject('infra').redis;
if (!info) throw new Error('the shared topology has no Redis');
const client = new Redis(sentinelClientOptions(info));
// A real client that cannot reach Redis: every command fails at once.
const unreachable = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
unreachable.on('error', () => {});
afterAll(() => {
  client.disconnect();
  unreachable.disconnect();
});

const nanos = ([seconds, nanoseconds]: api.HrTime) => BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);

// A wide L2 timeout: on a loaded machine a read must not time out and skip the write under test.
const instance = (namespace: string, options: Partial<CacheOptions> = {}) =>
  createCache({
    l2: createRedisTier({ client, prefix: namespace }),
    ttlMs: 60_000,
    l2TimeoutMs: 5_000,
    telemetry: true,
    ...options,
  });

describe('createCache telemetry over a Redis L2', () => {
  test('a miss: an L2 read, the fill and the L2 write, each a span of the request; the next instance reads L2 only', async () => {
    const namespace = testKeyPrefix('cache-otel');
    const a = recordingTelemetry();
    const b = recordingTelemetry();
    const first = instance(namespace, { telemetry: a.telemetry });
    const second = instance(namespace, { telemetry: b.telemetry });

    expect(await inRequest('request a', () => first.getOrSet('user:1', () => ({ name: 'Ada' })))).toEqual({
      name: 'Ada',
    });
    const request = only('request a');
    const read = only('switchboard.cache.l2.read');
    const fill = only('switchboard.cache.fill');
    const write = only('switchboard.cache.l2.write');
    for (const span of [read, fill, write]) expect(isChildOf(span, request)).toBe(true);
    expect(read.kind).toBe(SpanKind.CLIENT);
    expect(read.attributes).toEqual({ 'switchboard.cache.key': 'user:1', 'switchboard.cache.l2.batched': true });
    expect(write.attributes).toEqual({ 'switchboard.cache.key': 'user:1' });
    // Read, then fill, then write (the write starts with the fill's value: it may begin in the
    // same turn the fill span ends, so only its start is ordered after the fill's). Compared to
    // the millisecond: some of these times are given in whole milliseconds, others are finer,
    // so within one millisecond a finer end can read as after a rounded start.
    const millis = (time: api.HrTime) => nanos(time) / 1_000_000n;
    expect(millis(read.endTime)).toBeLessThanOrEqual(millis(fill.startTime));
    expect(millis(fill.startTime)).toBeLessThanOrEqual(millis(write.startTime));
    expect(await a.counts()).toEqual(['l1 miss 1', 'l2 miss 1']);

    exporter.reset();
    expect(await inRequest('request b', () => second.getOrSet('user:1', () => ({ name: 'other' })))).toEqual({
      name: 'Ada',
    });
    expect(
      exporter
        .getFinishedSpans()
        .map((span) => span.name)
        .sort(),
    ).toEqual(['request b', 'switchboard.cache.l2.read']);
    expect(await b.counts()).toEqual(['l1 miss 1', 'l2 hit 1']);
    first.close();
    second.close();
  });

  test('reads batched into one MGET keep a span each, under their own request', async () => {
    const cache = instance(testKeyPrefix('cache-otel'));
    await Promise.all(['a', 'b', 'c'].map((key) => inRequest(`request ${key}`, () => cache.get(key))));
    const reads = spans('switchboard.cache.l2.read');
    expect(reads).toHaveLength(3);
    for (const key of ['a', 'b', 'c']) {
      const read = reads.find((span) => span.attributes['switchboard.cache.key'] === key);
      expect(read && isChildOf(read, only(`request ${key}`))).toBe(true);
    }
    cache.close();
  });

  test('set, delete and deleteByTag are L2 spans too', async () => {
    const cache = instance(testKeyPrefix('cache-otel'));
    await inRequest('request', async () => {
      await cache.set('k', 1, { tags: ['t'] });
      await cache.delete('k');
      await cache.deleteByTag('t');
    });
    const request = only('request');
    expect(only('switchboard.cache.l2.set').attributes).toEqual({ 'switchboard.cache.key': 'k' });
    expect(only('switchboard.cache.l2.delete').attributes).toEqual({ 'switchboard.cache.key': 'k' });
    expect(only('switchboard.cache.l2.bump_tag').attributes).toEqual({ 'switchboard.cache.tag': 't' });
    for (const span of exporter.getFinishedSpans()) if (span !== request) expect(isChildOf(span, request)).toBe(true);
    cache.close();
  });

  test('an L2 that fails ends its read span in error; the cache still answers from the fetcher', async () => {
    const cache = createCache({ l2: createRedisTier({ client: unreachable }), telemetry: true });
    expect(await cache.getOrSet('k', () => 'from origin')).toBe('from origin');
    const read = only('switchboard.cache.l2.read');
    expect(read.status.code).toBe(SpanStatusCode.ERROR);
    expect(read.events.map((event) => event.name)).toEqual(['exception']);
    expect(only('switchboard.cache.fill').status.code).toBe(SpanStatusCode.UNSET);
    cache.close();
  });

  test('off (the default): no spans over Redis either', async () => {
    const cache = instance(testKeyPrefix('cache-otel'), { telemetry: false });
    expect(await inRequest('request', () => cache.getOrSet('k', () => 'v'))).toBe('v');
    expect(names()).toEqual(['request']);
    cache.close();
  });
});
