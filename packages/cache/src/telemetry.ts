import {
  type Attributes,
  type CounterSeries,
  failSpan,
  HotCounter,
  inSpan,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  type TracerLike,
} from '@switchboard/hot-path';
import { type PendingReads, READ_WITHIN, type ReadsWithin } from './internal.ts';
import type { SharedTier } from './types.ts';

/**
 * A `telemetry` option: `true` for the global OpenTelemetry API (`@opentelemetry/api`, an optional
 * peer dependency), or the API object itself (`import * as api from '@opentelemetry/api'`).
 * @default false (no tracing code runs)
 */
export type Telemetry = boolean | { trace: object; context: object; metrics?: object };

const SCOPE = '@switchboard/cache';

const KEY = 'switchboard.cache.key';

/** The tier counter's series, one per tier and outcome. */
export type TierHits = Record<keyof typeof TIER_OUTCOMES, CounterSeries>;

/** Attribute sets of the tier counter. */
export const TIER_OUTCOMES = {
  l1Hit: { tier: 'l1', outcome: 'hit' },
  l1Miss: { tier: 'l1', outcome: 'miss' },
  l2Hit: { tier: 'l2', outcome: 'hit' },
  l2Miss: { tier: 'l2', outcome: 'miss' },
} as const satisfies Record<string, Attributes>;

/**
 * A cache's OpenTelemetry, resolved once by `createCache`:
 * - `switchboard.cache.fill` (internal) around the fetcher a `getOrSet` runs on a miss, in the
 *   single-flight leader only (callers that join a flight make no span); the fetcher runs inside
 *   it, so its own spans (a database query) are its children;
 * - `switchboard.cache.l2.<operation>` (client) around each L2 call: one span per read, also when
 *   the tier sends the reads of a turn as one batch (ended when the batch answers);
 * - the counter `switchboard.cache.hits` by `tier` (`l1` / `l2`) and `outcome` (`hit` / `miss`).
 */
export class CacheTelemetry {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;
  /** The tier counter's four series, when the API has metrics. */
  readonly hits: TierHits | undefined;

  constructor(api: OpenTelemetryApi) {
    this.#api = api;
    this.#tracer = api.trace.getTracer(SCOPE);
    const meter = api.metrics?.getMeter(SCOPE);
    // A look-up adds one to its series (see `HotCounter`: the SDK reads the sums when it collects).
    const counter =
      meter &&
      HotCounter.of(meter, 'switchboard.cache.hits', {
        description: 'Cache look-ups per tier, by outcome (hit or miss)',
        unit: '{lookup}',
      });
    this.hits = counter && {
      l1Hit: counter.series('l1', 'hit', () => TIER_OUTCOMES.l1Hit),
      l1Miss: counter.series('l1', 'miss', () => TIER_OUTCOMES.l1Miss),
      l2Hit: counter.series('l2', 'hit', () => TIER_OUTCOMES.l2Hit),
      l2Miss: counter.series('l2', 'miss', () => TIER_OUTCOMES.l2Miss),
    };
  }

  /** Runs a fill (the fetcher of `key`, with its hard timeout) in its span. */
  fill<T>(key: string, run: () => Promise<T>): Promise<T> {
    return inSpan(this.#api, this.#tracer, 'switchboard.cache.fill', { attributes: { [KEY]: key } }, run);
  }

  /** The shared tier with a span around each call; it answers and fails exactly as `tier`. */
  traceTier(tier: SharedTier): SharedTier {
    const call = <R>(operation: string, attributes: Attributes, run: () => Promise<R>): Promise<R> =>
      inSpan(this.#api, this.#tracer, `switchboard.cache.l2.${operation}`, { kind: SPAN_KIND.client, attributes }, run);
    const traced: SharedTier = {
      read: (key, tags) => call('read', { [KEY]: key }, () => tier.read(key, tags)),
      readValidated: (key, tags) => call('read_validated', { [KEY]: key }, () => tier.readValidated(key, tags)),
      write: (key, raw, ttlMs, expect) => call('write', { [KEY]: key }, () => tier.write(key, raw, ttlMs, expect)),
      set: (key, raw, ttlMs) => call('set', { [KEY]: key }, () => tier.set(key, raw, ttlMs)),
      delete: (keys) =>
        call('delete', keys.length === 1 ? { [KEY]: keys[0] } : { [KEY]: [...keys] }, () => tier.delete(keys)),
      bumpTag: (tag) => call('bump_tag', { 'switchboard.cache.tag': tag }, () => tier.bumpTag(tag)),
      lock: (key, token, ttlMs) => call('lock', { [KEY]: key }, () => tier.lock(key, token, ttlMs)),
      unlock: (key, token) => call('unlock', { [KEY]: key }, () => tier.unlock(key, token)),
    };
    const within = (tier as Partial<ReadsWithin>)[READ_WITHIN];
    if (typeof within === 'function') {
      (traced as SharedTier & ReadsWithin)[READ_WITHIN] = (key, tags, timeoutMs) =>
        this.#batchedRead(within.call(tier, key, tags, timeoutMs), key);
    }
    return traced;
  }

  /** A read the tier batched: its own span, a child of the caller's, ended with the batch. */
  #batchedRead(pending: PendingReads, key: string): PendingReads {
    const span = this.#tracer.startSpan(
      'switchboard.cache.l2.read',
      { kind: SPAN_KIND.client, attributes: { [KEY]: key, 'switchboard.cache.l2.batched': true } },
      this.#api.context.active(),
    );
    pending.done.then(
      () => span.end(),
      (error: unknown) => {
        failSpan(span, error);
        span.end();
      },
    );
    return pending;
  }
}

/** The telemetry `createCache`'s option asks for, or `undefined` when it is off. */
export function cacheTelemetry(option: Telemetry | undefined): CacheTelemetry | undefined {
  const api = resolveTelemetry('createCache', option);
  return api ? new CacheTelemetry(api) : undefined;
}
