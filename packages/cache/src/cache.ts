import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { withinDeadline } from './deadline.ts';
import { decodeEnvelope, encodeEnvelope } from './envelope.ts';
import { FetchTimeoutError } from './errors.ts';
import { type PendingReads, READ_WITHIN, type ReadsWithin } from './internal.ts';
import { createMemoryTier } from './memory-tier.ts';
import { jsonSerializer } from './serializer.ts';
import type {
  BusMessage,
  CacheBus,
  CacheEntry,
  LocalHit,
  LocalTier,
  Serializer,
  SharedRead,
  SharedTier,
} from './types.ts';

export interface CacheOptions {
  /** The in-process tier; `false` for none. @default createMemoryTier() */
  l1?: LocalTier | false;
  /** The shared tier, e.g. `createRedisTier({ client })`. @default none */
  l2?: SharedTier;
  /** Carries invalidations to other instances' L1, e.g. `createRedisBus(...)`. @default none */
  bus?: CacheBus;
  /** How long a value is fresh. @default 60000 */
  ttlMs?: number;
  /** How long after that an expired value may still be served if the fetcher fails. @default 0 */
  graceMs?: number;
  /** Freshness of a cached `null` / `undefined` ("not found"). @default ttlMs */
  nullTtlMs?: number;
  /** Random spread of each TTL, as a fraction (0.1 = ±10%), so keys written together do not expire together. @default 0 */
  jitter?: number;
  /** Prepended to every key and tag. @default '' */
  prefix?: string;
  /** With a stale value at hand, a fetcher slower than this answers with the stale value and refreshes in the background. @default none */
  softTimeoutMs?: number;
  /** A fetcher slower than this fails (`FETCH_TIMEOUT`), or the stale value is served. @default none */
  hardTimeoutMs?: number;
  /**
   * Longest an L1 copy is served without being confirmed against L2: bounds how long a missed
   * bus message can keep another instance's invalidation from taking effect.
   * @default 5000 with an L2, unbounded without
   */
  l1MaxStalenessMs?: number;
  /** An L2 call never takes longer than this; then L2 counts as down. @default 250 */
  l2TimeoutMs?: number;
  /** After an L2 failure, skip L2 this long before trying again. @default 1000 */
  l2RetryAfterMs?: number;
  /**
   * Single-flight across instances: on an L2 miss, one instance takes a short Redis lock and
   * fetches; the others wait for its value in L2. `true` for the defaults.
   */
  lock?: boolean | { ttlMs?: number; waitMs?: number };
  /** @default jsonSerializer (keeps Date, BigInt and undefined) */
  serializer?: Serializer;
  /** @default Date.now */
  now?: () => number;
}

export interface GetOrSetOptions {
  ttlMs?: number;
  graceMs?: number;
  nullTtlMs?: number;
  /** Tags this value depends on: `deleteByTag(tag)` invalidates it. */
  tags?: readonly string[];
  softTimeoutMs?: number;
  hardTimeoutMs?: number;
}

export type SetOptions = Pick<GetOrSetOptions, 'ttlMs' | 'graceMs' | 'nullTtlMs' | 'tags'>;

/** Counters since the cache was created. */
export interface CacheStats {
  l1Hits: number;
  l2Hits: number;
  misses: number;
  /** Expired values served because the fetcher failed or was slow. */
  staleServed: number;
  fetches: number;
  errors: number;
}

/** What listeners receive; `cache.on('hit' | 'miss' | 'stale' | 'error' | 'invalidate', listener)`. */
export interface CacheEvent {
  key?: string;
  tag?: string;
  tier?: 'l1' | 'l2';
  reason?: string;
  error?: unknown;
}

export type CacheEventName = 'hit' | 'miss' | 'stale' | 'error' | 'invalidate';

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

interface Flight {
  /** What callers get (may resolve early with a stale value while the fetch goes on). */
  promise: Promise<unknown>;
  /** The full key it fills. */
  readonly key: string;
  /** A refresh left running after callers got a stale value: it ends the flight when it lands. */
  background: boolean;
  /** Set by an invalidation of this key or one of its tags: the result must not be cached. */
  invalidated: boolean;
  /** The tags the fetched value will carry. */
  tags: readonly string[];
}

// Recent invalidations remembered per key and per tag, to know whether one landed while an L2
// read was in flight. Bounded: past it, the oldest are forgotten and `forgottenUpTo` makes
// every read older than them count as invalidated (safe, only costs an L1 fill).
const RECENT_INVALIDATIONS = 10_000;
// Tag generations remembered by one instance.
const MAX_KNOWN_TAGS = 100_000;

interface Snapshot {
  tags: readonly string[];
  gens: number[];
  keyGen: number;
  /** Read from L2: the write may then go to L2 (compare-and-set against these generations). */
  fromL2: boolean;
}

/** What an L2 read found: the entry when valid, and the generations a fetch must snapshot. */
interface SharedOutcome extends Snapshot {
  entry: CacheEntry | undefined;
}

/** Stands in for a flight's promise until `fill` has returned it (shared: no allocation). */
const NOT_STARTED: Promise<unknown> = Promise.resolve();
const NO_OPTIONS: GetOrSetOptions = Object.freeze({});

const ALL_TAG = '#all';

/** Options with their defaults applied, once. */
interface ResolvedOptions {
  ttlMs: number;
  graceMs: number;
  nullTtlMs: number | undefined;
  jitter: number;
  prefix: string;
  softTimeoutMs: number | undefined;
  hardTimeoutMs: number | undefined;
  l1MaxStalenessMs: number;
  l2TimeoutMs: number;
  l2RetryAfterMs: number;
  lock: { ttlMs: number; waitMs: number } | undefined;
  serializer: Serializer;
  now: () => number;
}

/** Everything the views of one cache share. */
class CacheCore {
  readonly l1: LocalTier | undefined;
  readonly l2: SharedTier | undefined;
  readonly bus: CacheBus | undefined;
  /** The L2 read with its deadline, done by the tier itself when it can (one per batch of reads). */
  readonly readL2: ((key: string, tags: readonly string[]) => Promise<SharedRead>) | undefined;
  /** The same, batched by the tier (one promise for the batch), when the tier can. */
  readonly readL2Batched: ((key: string, tags: readonly string[]) => PendingReads) | undefined;
  readonly events = new EventEmitter();
  readonly counters: CacheStats = { l1Hits: 0, l2Hits: 0, misses: 0, staleServed: 0, fetches: 0, errors: 0 };
  readonly instanceId = randomBytes(8).toString('hex');
  /** Tag → highest generation seen here. An entry older than it is invalid. */
  private readonly gens = new Map<string, number>();
  /**
   * L1 copies confirmed before this moment are not trusted: set when tag generations had to be
   * forgotten (the map is bounded), since a forgotten bump could otherwise make an invalidated
   * copy look valid again.
   */
  l1TrustedFrom = 0;
  readonly flights = new Map<string, Flight>();
  /** L2 writes of invalidations that failed: replayed once L2 answers again. */
  readonly pendingInvalidations: (() => Promise<void>)[] = [];
  l2RetryAt = 0;
  private replaying = false;
  /** Grows with every invalidation this instance applies (its own or from the bus). */
  epoch = 0;
  private readonly recentInvalidations = new Map<string, number>();
  private forgottenUpTo = 0;
  listening = { hit: false, miss: false, stale: false, error: false, invalidate: false };
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly options: ResolvedOptions,
    tiers: { l1: LocalTier | undefined; l2: SharedTier | undefined; bus: CacheBus | undefined },
  ) {
    this.l1 = tiers.l1;
    this.l2 = tiers.l2;
    this.bus = tiers.bus;
    const l2 = tiers.l2;
    if (l2) {
      const timeoutMs = options.l2TimeoutMs;
      const within = (l2 as Partial<ReadsWithin>)[READ_WITHIN];
      this.readL2 = (key, tags) => withinDeadline(l2.read(key, tags), timeoutMs);
      if (typeof within === 'function') this.readL2Batched = (key, tags) => within.call(l2, key, tags, timeoutMs);
    }
    this.unsubscribe = this.bus?.subscribe((message) => this.onBusMessage(message));
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  emit(name: CacheEventName, event: CacheEvent): void {
    if (!this.listening[name]) return;
    try {
      this.events.emit(name, event);
    } catch {
      // A listener's bug must not break a read, nor surface as an unhandled rejection.
    }
  }

  /**
   * Applies an invalidation of a key (`k:`) or tag (`t:`) to what is in flight: the flight's
   * result is not cached, and the flight leaves the map so that later callers do not join it.
   */
  invalidated(marker: string, matchesFlight: (key: string, flight: Flight) => boolean): void {
    this.epoch++;
    this.recentInvalidations.delete(marker);
    this.recentInvalidations.set(marker, this.epoch);
    if (this.recentInvalidations.size > RECENT_INVALIDATIONS) {
      const oldest = this.recentInvalidations.entries().next();
      if (!oldest.done) {
        this.recentInvalidations.delete(oldest.value[0]);
        this.forgottenUpTo = oldest.value[1];
      }
    }
    for (const [key, flight] of this.flights) {
      if (!matchesFlight(key, flight)) continue;
      flight.invalidated = true;
      this.flights.delete(key);
    }
  }

  invalidateKey(key: string): void {
    this.l1?.delete(key);
    this.invalidated(`k:${key}`, (flightKey) => flightKey === key);
  }

  invalidateTag(tag: string): void {
    this.invalidated(`t:${tag}`, (_key, flight) => flight.tags.includes(tag));
  }

  /** Whether the key or one of the tags was invalidated after `epoch` (conservative). */
  invalidatedSince(epoch: number, key: string, tags: readonly string[]): boolean {
    if (this.epoch === epoch) return false;
    if (epoch < this.forgottenUpTo) return true;
    if ((this.recentInvalidations.get(`k:${key}`) ?? 0) > epoch) return true;
    for (const tag of tags) if ((this.recentInvalidations.get(`t:${tag}`) ?? 0) > epoch) return true;
    return false;
  }

  generation(tag: string): number {
    return this.gens.get(tag) ?? 0;
  }

  /**
   * Records a tag's generation (learnt from L2 or the bus, or bumped here); the map is bounded
   * (tags can be per user, bumped for ever).
   */
  setGeneration(tag: string, gen: number): void {
    this.gens.delete(tag);
    this.gens.set(tag, gen);
    if (this.gens.size <= MAX_KNOWN_TAGS) return;
    // Forget the least recently bumped tenth, and stop trusting every L1 copy confirmed before
    // now: each is re-checked (against L2, or refetched) before it is served again.
    let drop = Math.ceil(MAX_KNOWN_TAGS / 10);
    for (const known of this.gens.keys()) {
      if (drop-- <= 0) break;
      this.gens.delete(known);
    }
    this.l1TrustedFrom = this.options.now();
  }

  learn(tag: string, gen: number): void {
    if (gen > this.generation(tag)) this.setGeneration(tag, gen);
  }

  /** Valid unless a tag was bumped after the entry was fetched. */
  tagsValid(entry: CacheEntry): boolean {
    for (const [tag, gen] of entry.tags) if (this.generation(tag) > gen) return false;
    return true;
  }

  /** Runs an L2 call with the timeout and the outage breaker; undefined when L2 is down. */
  async shared<T>(run: (l2: SharedTier) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    const { l2 } = this;
    if (!l2 || this.l2Skipped()) return { ok: false };
    try {
      const value = await withinDeadline(run(l2), this.options.l2TimeoutMs);
      this.l2Answered();
      return { ok: true, value };
    } catch (error) {
      this.l2Failed(error);
      return { ok: false };
    }
  }

  /** Whether L2 is skipped for now, after a failure (the outage breaker). */
  l2Skipped(): boolean {
    return this.l2RetryAt !== 0 && this.options.now() < this.l2RetryAt;
  }

  /** L2 answered a call: closes the breaker, and replays what an outage held back. */
  l2Answered(): void {
    if (this.l2RetryAt !== 0) {
      this.l2RetryAt = 0;
      void this.replayInvalidations();
    }
  }

  /** An L2 call failed or timed out: skip L2 for `l2RetryAfterMs`. */
  l2Failed(error: unknown): void {
    this.l2RetryAt = this.options.now() + this.options.l2RetryAfterMs;
    this.counters.errors++;
    this.emit('error', { tier: 'l2', error, reason: 'l2 unavailable' });
  }

  /** Ends a flight: later callers start a new one. */
  endFlight(flight: Flight): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
  }

  /** An invalidation L2 must learn of: done now, or queued until L2 is back. */
  async invalidateShared(run: (l2: SharedTier) => Promise<unknown>): Promise<void> {
    if (!this.l2) return;
    const outcome = await this.shared(run);
    if (outcome.ok) return;
    // Bounded: a very long outage keeps the newest invalidations (older ones are superseded by TTLs).
    if (this.pendingInvalidations.length >= 10_000) this.pendingInvalidations.shift();
    this.pendingInvalidations.push(async () => {
      const retried = await this.shared(run);
      if (!retried.ok) throw new Error('l2 still unavailable');
    });
  }

  private async replayInvalidations(): Promise<void> {
    // One replay at a time, removing exactly the item that succeeded.
    if (this.replaying) return;
    this.replaying = true;
    try {
      for (let next = this.pendingInvalidations[0]; next; next = this.pendingInvalidations[0]) {
        try {
          await next();
        } catch {
          return;
        }
        const index = this.pendingInvalidations.indexOf(next);
        if (index >= 0) this.pendingInvalidations.splice(index, 1);
      }
    } finally {
      this.replaying = false;
    }
  }

  async publish(message: BusMessage): Promise<void> {
    if (!this.bus) return;
    try {
      // Bounded like any L2 call: with Redis down the client would otherwise hold the publish
      // (and the caller's delete) in its offline queue until the failover is over.
      await withinDeadline(this.bus.publish({ ...message, from: this.instanceId }), this.options.l2TimeoutMs);
    } catch (error) {
      this.counters.errors++;
      this.emit('error', { error, reason: 'bus publish failed' });
    }
  }

  private onBusMessage(message: BusMessage & { from: string }): void {
    // Whatever arrives on the channel is checked: a malformed message must not throw inside
    // the Redis client's event handler.
    if (!message || typeof message !== 'object' || message.from === this.instanceId) return;
    if (message.type === 'tag') {
      if (typeof message.tag !== 'string') return;
      if (typeof message.gen === 'number') this.learn(message.tag, message.gen);
      else this.setGeneration(message.tag, this.generation(message.tag) + 1);
      this.invalidateTag(message.tag);
      this.emit('invalidate', { tag: message.tag, reason: 'bus' });
      return;
    }
    if ((message.type !== 'delete' && message.type !== 'set') || !Array.isArray(message.keys)) return;
    for (const key of message.keys) {
      if (typeof key !== 'string') continue;
      this.invalidateKey(key);
      this.emit('invalidate', { key, reason: 'bus' });
    }
  }
}

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
  const ttlMs = positive('ttlMs', options.ttlMs ?? 60_000);
  const l2 = options.l2;
  const core = new CacheCore(
    {
      ttlMs,
      graceMs: nonNegative('graceMs', options.graceMs ?? 0),
      nullTtlMs: options.nullTtlMs === undefined ? undefined : positive('nullTtlMs', options.nullTtlMs),
      jitter: fraction('jitter', options.jitter ?? 0),
      prefix: options.prefix ?? '',
      softTimeoutMs: options.softTimeoutMs === undefined ? undefined : positive('softTimeoutMs', options.softTimeoutMs),
      hardTimeoutMs: options.hardTimeoutMs === undefined ? undefined : positive('hardTimeoutMs', options.hardTimeoutMs),
      // Unbounded is allowed (and the default without L2: there is nothing to re-check against).
      l1MaxStalenessMs: unboundedOrPositive(
        'l1MaxStalenessMs',
        options.l1MaxStalenessMs ?? (l2 ? 5_000 : Number.POSITIVE_INFINITY),
      ),
      l2TimeoutMs: positive('l2TimeoutMs', options.l2TimeoutMs ?? 250),
      l2RetryAfterMs: nonNegative('l2RetryAfterMs', options.l2RetryAfterMs ?? 1_000),
      lock: resolveLock(options.lock),
      serializer: options.serializer ?? jsonSerializer,
      now: options.now ?? Date.now,
    },
    {
      // The default L1 shares the cache's clock, so grace periods agree.
      l1: options.l1 === false ? undefined : (options.l1 ?? createMemoryTier(options.now ? { now: options.now } : {})),
      l2,
      bus: options.bus,
    },
  );
  return new CacheView(core, options.prefix ?? '', [`${options.prefix ?? ''}${ALL_TAG}`]);
}

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
      if (
        at < entry.freshUntil &&
        at - hit.verifiedAt < core.options.l1MaxStalenessMs &&
        hit.verifiedAt > core.l1TrustedFrom &&
        core.tagsValid(entry)
      ) {
        core.counters.l1Hits++;
        if (core.listening.hit) core.emit('hit', { key: fullKey, tier: 'l1' });
        return Promise.resolve(entry.value as T);
      }
    }
    if (typeof fetcher !== 'function') return Promise.reject(new TypeError('getOrSet needs a fetcher function'));
    const flight = core.flights.get(fullKey);
    if (flight) return flight.promise as Promise<T>;
    return this.startFlight(
      fullKey,
      fetcher,
      options === undefined || options === null ? NO_OPTIONS : validateCallOptions(options),
      hit,
    );
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
      hit.verifiedAt > core.l1TrustedFrom &&
      core.tagsValid(hit.entry)
    ) {
      core.counters.l1Hits++;
      return hit.entry.value as T;
    }
    // Asking with the scope tags lets L2 validate most entries with one plain MGET.
    const epoch = core.epoch;
    const shared = await this.readShared(fullKey, this.tagsFor(undefined));
    if (shared?.entry && at < shared.entry.freshUntil) {
      core.counters.l2Hits++;
      // Not kept if an invalidation of it arrived while we read.
      const tags = shared.entry.tags.map(([tag]) => tag);
      if (!core.invalidatedSince(epoch, fullKey, tags)) core.l1?.set(fullKey, shared.entry, core.options.now());
      return shared.entry.value as T;
    }
    core.counters.misses++;
    return undefined;
  }

  async set<T>(key: string, value: T, options: SetOptions = {}): Promise<void> {
    const core = this.core;
    const fullKey = this.keyPrefix + validateKey(key);
    validateCallOptions(options);
    const tags = this.tagsFor(options.tags);
    // In-flight fetches of this key predate this value: they must not be stored or joined.
    core.invalidated(`k:${fullKey}`, (flightKey) => flightKey === fullKey);
    const epoch = core.epoch;
    const entry = this.makeEntry(
      value,
      tags,
      tags.map((tag) => core.generation(tag)),
      options,
    );
    if (core.l2) {
      const raw = encodeEnvelope(entry, core.options.serializer);
      const written = await core.shared((l2) => l2.set(fullKey, raw, entry.graceUntil - core.options.now()));
      // If L2 cannot take it now, it must at least forget the old value once it is back: a
      // replayed SET could overwrite a newer value written meanwhile by another instance.
      if (!written.ok) await core.invalidateShared((l2) => l2.delete([fullKey]));
    }
    if (!core.invalidatedSince(epoch, fullKey, tags)) core.l1?.set(fullKey, entry, core.options.now());
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
    await this.bumpTag(this.keyPrefix + validateTag(tag));
  }

  async clear(): Promise<void> {
    await this.bumpTag(this.scopeTags[this.scopeTags.length - 1] as string);
  }

  namespace(name: string): Cache {
    const prefix = `${this.keyPrefix}${validateKey(name)}:`;
    return new CacheView(this.core, prefix, [...this.scopeTags, `${prefix}${ALL_TAG}`]);
  }

  on(event: CacheEventName, listener: (event: CacheEvent) => void): Cache {
    this.core.events.on(event, listener);
    this.core.listening[event] = true;
    return this;
  }

  off(event: CacheEventName, listener: (event: CacheEvent) => void): Cache {
    this.core.events.off(event, listener);
    this.core.listening[event] = this.core.events.listenerCount(event) > 0;
    return this;
  }

  stats(): CacheStats {
    return { ...this.core.counters };
  }

  async close(): Promise<void> {
    this.core.close();
  }

  private async bumpTag(fullTag: string): Promise<void> {
    const core = this.core;
    let gen: number | undefined;
    if (core.l2) {
      const bumped = await core.shared((l2) => l2.bumpTag(fullTag));
      if (bumped.ok) gen = bumped.value;
      else await core.invalidateShared((l2) => l2.bumpTag(fullTag));
    }
    // Locally at once, whatever L2 says: this instance never serves the old values again.
    const local = core.generation(fullTag) + 1;
    core.setGeneration(fullTag, Math.max(local, gen ?? 0));
    core.invalidateTag(fullTag);
    core.emit('invalidate', { tag: fullTag, reason: 'local' });
    await core.publish(gen === undefined ? { type: 'tag', tag: fullTag } : { type: 'tag', tag: fullTag, gen });
  }

  private tagsFor(tags: readonly string[] | undefined): string[] {
    if (!tags || tags.length === 0) return this.scopeTags as string[];
    return [...this.scopeTags, ...tags.map((tag) => this.keyPrefix + validateTag(tag))];
  }

  private makeEntry(value: unknown, tags: readonly string[], gens: readonly number[], options: SetOptions): CacheEntry {
    const { options: defaults } = this.core;
    const base =
      value === null || value === undefined
        ? (options.nullTtlMs ?? defaults.nullTtlMs ?? options.ttlMs ?? defaults.ttlMs)
        : (options.ttlMs ?? defaults.ttlMs);
    const ttl = defaults.jitter > 0 ? base * (1 + (Math.random() * 2 - 1) * defaults.jitter) : base;
    const at = defaults.now();
    return {
      id: randomBytes(6).toString('base64url'),
      value,
      freshUntil: at + ttl,
      graceUntil: at + ttl + (options.graceMs ?? defaults.graceMs),
      tags: tags.map((tag, i) => [tag, gens[i] ?? 0] as const),
    };
  }

  /**
   * Reads L2 (if any and reachable): the entry when valid, and the generations a fetch must
   * snapshot; undefined when L2 is down. The hot path of every L1 miss: one read, no closure.
   */
  private async readShared(fullKey: string, tags: readonly string[]): Promise<SharedOutcome | undefined> {
    const core = this.core;
    const { readL2, readL2Batched } = core;
    if (readL2 === undefined || core.l2Skipped()) return undefined;
    let read: SharedRead;
    try {
      if (readL2Batched !== undefined) {
        const pending = readL2Batched(fullKey, tags);
        const index = pending.size - 1;
        await pending.done;
        read = pending.result(index);
      } else {
        read = await readL2(fullKey, tags);
      }
    } catch (error) {
      core.l2Failed(error);
      return undefined;
    }
    core.l2Answered();
    const { gens } = read;
    for (let i = 0; i < tags.length; i++) core.learn(tags[i] as string, gens[i] ?? 0);
    let entry: CacheEntry | undefined;
    if (read.raw !== null) {
      try {
        entry = decodeEnvelope(read.raw, core.options.serializer);
        // Generations just read from L2 are exact for the tags we asked about; an entry with
        // other tags is validated inside L2 instead.
        if (hasUnnamedTag(entry, tags)) {
          const validated = await core.shared((shared) => shared.readValidated(fullKey, tags));
          if (!validated.ok) return undefined;
          read = validated.value;
          entry = read.raw === null ? undefined : decodeEnvelope(read.raw, core.options.serializer);
        }
        if (entry) for (const [tag, gen] of entry.tags) core.learn(tag, gen);
        if (entry && !core.tagsValid(entry)) entry = undefined;
      } catch (error) {
        core.counters.errors++;
        core.emit('error', { key: fullKey, tier: 'l2', error, reason: 'undecodable entry' });
        entry = undefined;
      }
    }
    return { entry, tags, gens: read.gens, keyGen: read.keyGen, fromL2: true };
  }

  private startFlight<T>(
    fullKey: string,
    fetcher: () => T | Promise<T>,
    options: GetOrSetOptions,
    hit: LocalHit | undefined,
  ): Promise<T> {
    const core = this.core;
    const flight: Flight = {
      promise: NOT_STARTED,
      key: fullKey,
      background: false,
      invalidated: false,
      tags: this.tagsFor(options.tags),
    };
    // The flight stays registered until the fetch itself ends, even when callers got a stale
    // value early: later callers join it instead of starting another fetch. Registered before
    // `fill` starts, since `fill` may end it.
    core.flights.set(fullKey, flight);
    flight.promise = this.fill(fullKey, fetcher, options, hit, flight);
    return flight.promise as Promise<T>;
  }

  /** The L2 hit path, kept small (its state lives across the await); the rest is `fillMiss`. */
  private async fill<T>(
    fullKey: string,
    fetcher: () => T | Promise<T>,
    options: GetOrSetOptions,
    hit: LocalHit | undefined,
    flight: Flight,
  ): Promise<T> {
    const core = this.core;
    const at = core.options.now();
    let shared: SharedOutcome | undefined;
    if (core.l2) {
      try {
        shared = await this.readShared(fullKey, flight.tags);
      } catch (error) {
        core.endFlight(flight);
        throw error;
      }
      const entry = shared?.entry;
      if (entry !== undefined && core.options.now() < entry.freshUntil) {
        try {
          core.counters.l2Hits++;
          if (core.listening.hit) core.emit('hit', { key: fullKey, tier: 'l2' });
          if (!flight.invalidated) core.l1?.set(fullKey, entry, core.options.now());
          return entry.value as T;
        } finally {
          core.endFlight(flight);
        }
      }
    }
    return this.fillMiss(fullKey, fetcher, options, hit, flight, at, shared);
  }

  /** No fresh value in L2 (or none reachable): a stale value, the cluster lock, or the fetcher. */
  private async fillMiss<T>(
    fullKey: string,
    fetcher: () => T | Promise<T>,
    options: GetOrSetOptions,
    hit: LocalHit | undefined,
    flight: Flight,
    at: number,
    shared: SharedOutcome | undefined,
  ): Promise<T> {
    const core = this.core;
    const tags = flight.tags;
    let stale = hit && at < hit.entry.graceUntil && core.tagsValid(hit.entry) ? hit.entry : undefined;
    let snapshot: Snapshot | undefined;

    try {
      if (core.l2) {
        if (shared) {
          snapshot = shared;
          const { entry } = shared;
          // L2 answered: it alone decides what may stand in. An L1 copy it no longer holds was
          // invalidated (a lost bus message) and must not be served, not even as stale.
          stale = entry && core.options.now() < entry.graceUntil ? entry : undefined;
        } else if (hit && at < hit.entry.freshUntil && core.tagsValid(hit.entry)) {
          // L2 is down and our copy is within its TTL: serve it rather than load the origin.
          core.counters.l1Hits++;
          core.emit('hit', { key: fullKey, tier: 'l1', reason: 'l2 unavailable' });
          return hit.entry.value as T;
        }
      }
      snapshot ??= { tags, gens: tags.map((tag) => core.generation(tag)), keyGen: 0, fromL2: false };
      core.counters.misses++;
      if (core.listening.miss) core.emit('miss', { key: fullKey });

      const waited = await this.waitForClusterFill<T>(fullKey, tags, snapshot);
      if (waited.found) return waited.value;

      try {
        return await this.fetchAndStore(fullKey, fetcher, options, flight, snapshot, stale);
      } finally {
        const { token } = waited;
        // Released only if still ours: a fetch that outlived the lock must not free another's.
        if (waited.locked && token) void core.shared((l2) => l2.unlock(fullKey, token));
      }
    } finally {
      // A refresh left running in the background ends the flight itself when it lands.
      if (!flight.background) core.endFlight(flight);
    }
  }

  /** With `lock`: take the cluster lock, or wait for whoever holds it to fill L2. */
  private async waitForClusterFill<T>(
    fullKey: string,
    tags: readonly string[],
    snapshot: Snapshot,
  ): Promise<{ found: true; value: T } | { found: false; locked: boolean; token?: string }> {
    const core = this.core;
    const lock = core.options.lock;
    if (!lock || !snapshot.fromL2) return { found: false, locked: false };
    const token = randomBytes(9).toString('base64url');
    const acquired = await core.shared((l2) => l2.lock(fullKey, token, lock.ttlMs));
    if (!acquired.ok) return { found: false, locked: false };
    if (acquired.value) return { found: false, locked: true, token };
    const deadline = core.options.now() + lock.waitMs;
    while (core.options.now() < deadline) {
      await sleep(20);
      const shared = await this.readShared(fullKey, tags);
      if (!shared) break;
      if (shared.entry && core.options.now() < shared.entry.freshUntil) {
        core.counters.l2Hits++;
        core.l1?.set(fullKey, shared.entry, core.options.now());
        return { found: true, value: shared.entry.value as T };
      }
    }
    return { found: false, locked: false };
  }

  private async fetchAndStore<T>(
    fullKey: string,
    fetcher: () => T | Promise<T>,
    options: GetOrSetOptions,
    flight: Flight,
    snapshot: Snapshot,
    stale: CacheEntry | undefined,
  ): Promise<T> {
    const core = this.core;
    core.counters.fetches++;
    const hardTimeoutMs = options.hardTimeoutMs ?? core.options.hardTimeoutMs;
    const softTimeoutMs = options.softTimeoutMs ?? core.options.softTimeoutMs;
    const fetched = withTimeout(
      Promise.resolve().then(fetcher),
      hardTimeoutMs,
      () => new FetchTimeoutError(fullKey, hardTimeoutMs ?? 0),
    );
    const stored = fetched.then((value) => this.store(fullKey, value, options, flight, snapshot));

    const serveStale = (reason: string, error?: unknown): T => {
      core.counters.staleServed++;
      core.emit('stale', { key: fullKey, reason, error });
      return (stale as CacheEntry).value as T;
    };

    if (stale && softTimeoutMs !== undefined) {
      const early = await Promise.race([
        stored.then(
          () => 'fetched' as const,
          () => 'failed' as const,
        ),
        sleep(softTimeoutMs, 'slow' as const),
      ]);
      if (early === 'slow') {
        // Answer now; the refresh goes on and stores its value when it lands.
        flight.background = true;
        void stored
          .catch((error: unknown) => {
            core.counters.errors++;
            core.emit('error', { key: fullKey, error, reason: 'background refresh failed' });
          })
          .finally(() => core.endFlight(flight));
        return serveStale('soft timeout');
      }
    }
    try {
      return await stored;
    } catch (error) {
      if (!stale) throw error;
      core.counters.errors++;
      core.emit('error', { key: fullKey, error, reason: 'fetcher failed' });
      return serveStale(error instanceof FetchTimeoutError ? 'hard timeout' : 'fetcher failed', error);
    }
  }

  private async store<T>(
    fullKey: string,
    value: T,
    options: GetOrSetOptions,
    flight: Flight,
    snapshot: Snapshot,
  ): Promise<T> {
    const core = this.core;
    // Deleted (here or, via the bus, elsewhere) while we fetched: the value may predate that.
    if (flight.invalidated) return value;
    const entry = this.makeEntry(value, snapshot.tags, snapshot.gens, options);
    if (snapshot.fromL2) {
      const raw = encodeEnvelope(entry, core.options.serializer);
      const written = await core.shared((l2) =>
        l2.write(fullKey, raw, entry.graceUntil - core.options.now(), {
          keyGen: snapshot.keyGen,
          tags: snapshot.tags,
          gens: snapshot.gens,
        }),
      );
      // An invalidation landed in L2 during the fetch: hand the value out, keep it nowhere.
      if (written.ok && !written.value) return value;
    }
    if (!flight.invalidated && core.tagsValid(entry)) core.l1?.set(fullKey, entry, core.options.now());
    return value;
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined, error?: () => Error): Promise<T> {
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(error ? error() : new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (reason: unknown) => {
        clearTimeout(timer);
        reject(reason);
      },
    );
  });
}

/** Per-call options get the same checks as the cache's (a NaN TTL would reach Redis). */
function validateCallOptions<O extends GetOrSetOptions | SetOptions>(options: O): O {
  if (options.ttlMs !== undefined) positive('ttlMs', options.ttlMs);
  if (options.nullTtlMs !== undefined) positive('nullTtlMs', options.nullTtlMs);
  if (options.graceMs !== undefined) nonNegative('graceMs', options.graceMs);
  const timeouts = options as GetOrSetOptions;
  if (timeouts.softTimeoutMs !== undefined) positive('softTimeoutMs', timeouts.softTimeoutMs);
  if (timeouts.hardTimeoutMs !== undefined) positive('hardTimeoutMs', timeouts.hardTimeoutMs);
  if (options.tags !== undefined && !Array.isArray(options.tags))
    throw new TypeError('tags must be an array of strings');
  return options;
}

/** Whether the entry carries a tag the read did not ask generations for. */
function hasUnnamedTag(entry: CacheEntry, tags: readonly string[]): boolean {
  for (const pair of entry.tags) if (!tags.includes(pair[0])) return true;
  return false;
}

function resolveLock(lock: CacheOptions['lock']): { ttlMs: number; waitMs: number } | undefined {
  if (!lock) return undefined;
  const settings = lock === true ? {} : lock;
  return {
    ttlMs: positive('lock.ttlMs', settings.ttlMs ?? 5_000),
    waitMs: positive('lock.waitMs', settings.waitMs ?? 5_000),
  };
}

function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('cache keys must be non-empty strings');
  return key;
}

function validateTag(tag: string): string {
  if (typeof tag !== 'string' || tag.length === 0 || tag.startsWith('#')) {
    throw new TypeError(`tags must be non-empty strings not starting with '#', got ${JSON.stringify(tag)}`);
  }
  return tag;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

function unboundedOrPositive(name: string, value: number): number {
  return value === Number.POSITIVE_INFINITY ? value : positive(name, value);
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new TypeError(`${name} must be a finite number >= 0, got ${String(value)}`);
  return value;
}

function fraction(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1))
    throw new TypeError(`${name} must be a fraction from 0 to below 1, got ${String(value)}`);
  return value;
}
