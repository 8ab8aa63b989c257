import { CacheCore } from './cache-core.ts';
import type { CacheStats } from './counters.ts';
import { createEntry } from './entries.ts';
import { encodeEnvelope } from './envelope.ts';
import type { CacheEvent, CacheEventName } from './events.ts';
import { startFlight } from './fetch-runner.ts';
import {
  type CacheOptions,
  type GetOrSetOptions,
  NO_OPTIONS,
  resolveOptions,
  type SetOptions,
  validateCallOptions,
  validateKey,
  validateTag,
} from './options.ts';
import { createMemoryTier } from './stores/memory-tier.ts';
import { cacheTelemetry } from './telemetry.ts';

export type { CacheStats } from './counters.ts';
export type { CacheEvent, CacheEventName } from './events.ts';
export type { CacheOptions, GetOrSetOptions, SetOptions } from './options.ts';

export interface Cache {
  /**
   * The cached value, or the fetcher's (run once per key at a time in this process, and once in
   * the cluster with `lock`). `null` and `undefined` are values: "not found" is cached too.
   */
  getOrSet<T>(key: string, fetcher: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T>;
  /** The cached value, or `undefined` on a miss (use `getOrSet` to tell a cached `undefined` apart). */
  get<T>(key: string): Promise<T | undefined>;
  /** Stores a value and removes other instances' L1 copies. */
  set<T>(key: string, value: T, options?: SetOptions): Promise<void>;
  /** Removes a key on every tier and instance. */
  delete(key: string): Promise<void>;
  /** Invalidates every value stored with this tag: one counter bump, no key scan. */
  deleteByTag(tag: string): Promise<void>;
  /** Invalidates everything in this cache (and its namespaces): one counter bump. */
  clear(): Promise<void>;
  /** A view whose keys and tags live under `name:`, with its own `clear()`. */
  namespace(name: string): Cache;
  on(event: CacheEventName, listener: (event: CacheEvent) => void): Cache;
  off(event: CacheEventName, listener: (event: CacheEvent) => void): Cache;
  stats(): CacheStats;
  /** Stops listening to the bus. Tiers and clients you passed in stay open. */
  close(): Promise<void>;
}

/** The tag every entry of a cache or namespace carries, under its prefix: `clear()` bumps it. */
const ALL_TAG = '#all';

/**
 * A two-tier cache: an in-process L1, an optional shared L2 (Redis), a bus that keeps other
 * instances' L1 in step. Every option is optional: `createCache({ ttlMs })` is an in-process
 * cache.
 *
 * Guarantee: a value invalidated on one instance (delete, set, deleteByTag, clear) is no longer
 * served by any instance once the bus message arrives, and even if it is lost, no later than
 * `l1MaxStalenessMs` after the invalidation (while L2 is reachable).
 *
 * @example
 * const cache = createCache({ l2: createRedisTier({ client }), bus: createRedisBus({ publisher, subscriber }), ttlMs: 30_000 });
 * const user = await cache.getOrSet(`user:${id}`, () => db.findUser(id), { tags: [`user:${id}`] });
 */
export function createCache(options: CacheOptions = {}): Cache {
  const core = new CacheCore(
    resolveOptions(options),
    {
      // The default L1 shares the cache's clock, so grace periods agree.
      l1: options.l1 === false ? undefined : (options.l1 ?? createMemoryTier(options.now ? { now: options.now } : {})),
      l2: options.l2,
      bus: options.bus,
    },
    cacheTelemetry(options.telemetry),
  );
  return new CacheView(core, options.prefix ?? '', [`${options.prefix ?? ''}${ALL_TAG}`]);
}

/**
 * The public face of a cache or one of its namespaces: keys and tags under a prefix, over the
 * core they all share. It changes the core's state only through the core's methods.
 */
class CacheView implements Cache {
  constructor(
    private readonly core: CacheCore,
    private readonly keyPrefix: string,
    /** Tags every entry of this view carries (clear of this view, and of its parents). */
    private readonly scopeTags: readonly string[],
  ) {}

  getOrSet<T>(key: string, fetcher: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    try {
      return this.getOrSetUnsafe(key, fetcher, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private getOrSetUnsafe<T>(key: string, fetcher: () => T | Promise<T>, options?: GetOrSetOptions): Promise<T> {
    const core = this.core;
    const fullKey = this.keyPrefix + validateKey(key);
    const hit = core.l1?.get(fullKey);
    if (hit !== undefined) {
      const at = core.options.now();
      const { entry } = hit;
      if (at < entry.freshUntil && at - hit.verifiedAt < core.options.l1MaxStalenessMs && core.tags.trusts(hit)) {
        core.counters.l1Hit();
        if (core.events.listening.hit) core.events.emit('hit', { key: fullKey, tier: 'l1' });
        return Promise.resolve(entry.value as T);
      }
    }
    if (core.l1 !== undefined) core.counters.l1Miss();
    if (typeof fetcher !== 'function') return Promise.reject(new TypeError('getOrSet needs a fetcher function'));
    const flight = core.flights.get(fullKey);
    if (flight) return flight.promise as Promise<T>;
    const callOptions =
      options === undefined || options === null ? NO_OPTIONS : validateCallOptions('cache.getOrSet', options);
    return startFlight(core, fullKey, fetcher, callOptions, hit, this.tagsFor(callOptions.tags));
  }

  async get<T>(key: string): Promise<T | undefined> {
    const core = this.core;
    const fullKey = this.keyPrefix + validateKey(key);
    const at = core.options.now();
    const hit = core.l1?.get(fullKey);
    if (
      hit &&
      at < hit.entry.freshUntil &&
      at - hit.verifiedAt < core.options.l1MaxStalenessMs &&
      // Like getOrSet: a copy confirmed before tag generations were forgotten is re-checked.
      core.tags.trusts(hit)
    ) {
      core.counters.l1Hit();
      return hit.entry.value as T;
    }
    if (core.l1 !== undefined) core.counters.l1Miss();
    // Asking with the scope tags lets L2 validate most entries with one plain MGET.
    const epoch = core.invalidations.epoch;
    const shared = await core.readShared(fullKey, this.tagsFor(undefined));
    if (shared?.entry && at < shared.entry.freshUntil) {
      core.counters.l2Hit();
      // Not kept if an invalidation of it arrived while we read.
      const tags = shared.entry.tags.map(([tag]) => tag);
      if (!core.invalidations.invalidatedSince(epoch, fullKey, tags)) {
        core.l1?.set(fullKey, shared.entry, core.options.now());
      }
      return shared.entry.value as T;
    }
    if (shared) core.counters.l2Miss();
    core.counters.miss();
    return undefined;
  }

  async set<T>(key: string, value: T, options: SetOptions = {}): Promise<void> {
    const core = this.core;
    const fullKey = this.keyPrefix + validateKey(key);
    validateCallOptions('cache.set', options);
    const tags = this.tagsFor(options.tags);
    core.invalidateFlightsOf(fullKey);
    const epoch = core.invalidations.epoch;
    const entry = createEntry(
      core.options,
      value,
      tags,
      tags.map((tag) => core.tags.generation(tag)),
      options,
    );
    if (core.l2) {
      const raw = encodeEnvelope(entry, core.options.serializer);
      const written = await core.shared((l2) => l2.set(fullKey, raw, entry.graceUntil - core.options.now()));
      // If L2 cannot take it now, it must at least forget the old value once it is back: a
      // replayed SET could overwrite a newer value written meanwhile by another instance.
      if (!written.ok) await core.invalidateShared((l2) => l2.delete([fullKey]));
    }
    if (!core.invalidations.invalidatedSince(epoch, fullKey, tags)) core.l1?.set(fullKey, entry, core.options.now());
    await core.publish({ type: 'set', keys: [fullKey] });
  }

  async delete(key: string): Promise<void> {
    const core = this.core;
    const fullKey = this.keyPrefix + validateKey(key);
    core.invalidateKey(fullKey);
    await core.invalidateShared((l2) => l2.delete([fullKey]));
    await core.publish({ type: 'delete', keys: [fullKey] });
  }

  async deleteByTag(tag: string): Promise<void> {
    await this.core.bumpTag(this.keyPrefix + validateTag(tag));
  }

  async clear(): Promise<void> {
    await this.core.bumpTag(this.scopeTags[this.scopeTags.length - 1] as string);
  }

  namespace(name: string): Cache {
    const prefix = `${this.keyPrefix}${validateKey(name)}:`;
    return new CacheView(this.core, prefix, [...this.scopeTags, `${prefix}${ALL_TAG}`]);
  }

  on(event: CacheEventName, listener: (event: CacheEvent) => void): Cache {
    this.core.events.on(event, listener);
    return this;
  }

  off(event: CacheEventName, listener: (event: CacheEvent) => void): Cache {
    this.core.events.off(event, listener);
    return this;
  }

  stats(): CacheStats {
    return this.core.counters.snapshot();
  }

  async close(): Promise<void> {
    this.core.close();
  }

  /** The full tags of a value: this view's scope tags, then the caller's under the prefix. */
  private tagsFor(tags: readonly string[] | undefined): string[] {
    if (!tags || tags.length === 0) return this.scopeTags as string[];
    return [...this.scopeTags, ...tags.map((tag) => this.keyPrefix + validateTag(tag))];
  }
}
