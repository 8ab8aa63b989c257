import { randomBytes } from 'node:crypto';
import { CacheCounters } from './counters.ts';
import { withinL2Deadline } from './deadline.ts';
import { decodeEnvelope } from './envelope.ts';
import { CacheEvents } from './events.ts';
import { type PendingReads, READ_WITHIN, type ReadsWithin } from './internal.ts';
import { InvalidationLog } from './invalidation-log.ts';
import { L2Breaker } from './l2-breaker.ts';
import type { ResolvedOptions } from './options.ts';
import { ReplayQueue } from './replay-queue.ts';
import { SingleFlight } from './single-flight.ts';
import { TagGenerations } from './tag-generations.ts';
import type { CacheTelemetry } from './telemetry.ts';
import type { BusMessage, CacheBus, CacheEntry, LocalTier, SharedRead, SharedTier } from './types.ts';

/** The generations a fetch snapshots before it runs, to store its value compare-and-set. */
export interface Snapshot {
  tags: readonly string[];
  gens: number[];
  keyGen: number;
  /** Read from L2: the write may then go to L2 (compare-and-set against these generations). */
  fromL2: boolean;
}

/** What an L2 read found: the entry when valid, and the generations a fetch must snapshot. */
export interface SharedOutcome extends Snapshot {
  entry: CacheEntry | undefined;
}

/**
 * Everything the views of one cache (its namespaces) share: the tiers, and the state that keeps
 * them consistent. Each concern lives in its own class (tag generations, invalidation log,
 * flights, L2 breaker, replay queue, events, counters); this one wires them to the tiers and
 * the bus, and is the only one that calls L2.
 */
export class CacheCore {
  readonly l1: LocalTier | undefined;
  readonly l2: SharedTier | undefined;
  readonly events = new CacheEvents();
  readonly counters: CacheCounters;
  readonly tags: TagGenerations;
  readonly invalidations = new InvalidationLog();
  readonly flights = new SingleFlight();
  private readonly bus: CacheBus | undefined;
  /** The L2 read with its deadline, done by the tier itself when it can (one per batch of reads). */
  private readonly readL2: ((key: string, tags: readonly string[]) => Promise<SharedRead>) | undefined;
  /** The same, batched by the tier (one promise for the batch), when the tier can. */
  private readonly readL2Batched: ((key: string, tags: readonly string[]) => PendingReads) | undefined;
  private readonly breaker: L2Breaker;
  /** L2 writes of invalidations that failed: replayed once L2 answers again. */
  private readonly replays = new ReplayQueue();
  private readonly instanceId = randomBytes(8).toString('hex');
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly options: ResolvedOptions,
    tiers: { l1: LocalTier | undefined; l2: SharedTier | undefined; bus: CacheBus | undefined },
    /** Spans for fills and L2 calls, tier counters; `undefined` when telemetry is off. */
    readonly telemetry?: CacheTelemetry,
  ) {
    this.l1 = tiers.l1;
    // Traced, every L2 call goes through a span; off, the tier is called as it is.
    this.l2 = telemetry && tiers.l2 ? telemetry.traceTier(tiers.l2) : tiers.l2;
    this.counters = new CacheCounters(telemetry?.hits);
    this.bus = tiers.bus;
    this.tags = new TagGenerations(options.now);
    this.breaker = new L2Breaker(options.l2RetryAfterMs, options.now);
    const l2 = this.l2;
    if (l2) {
      const timeoutMs = options.l2TimeoutMs;
      const within = (l2 as Partial<ReadsWithin>)[READ_WITHIN];
      this.readL2 = (key, tags) => withinL2Deadline(l2.read(key, tags), timeoutMs);
      if (typeof within === 'function') this.readL2Batched = (key, tags) => within.call(l2, key, tags, timeoutMs);
    }
    this.unsubscribe = this.bus?.subscribe((message) => this.onBusMessage(message));
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Counts an error and tells the `error` listeners. */
  failed(event: { key?: string; tier?: 'l1' | 'l2'; error: unknown; reason: string }): void {
    this.counters.error();
    this.events.emit('error', event);
  }

  /** A key changed here or elsewhere: drop the L1 copy, and what is in flight for it. */
  invalidateKey(key: string): void {
    this.l1?.delete(key);
    this.invalidateFlightsOf(key);
  }

  /** A key gets a new value: fetches in flight predate it and must not be stored or joined. */
  invalidateFlightsOf(key: string): void {
    this.invalidations.record(`k:${key}`);
    this.flights.invalidate((flightKey) => flightKey === key);
  }

  /** A tag was bumped: flights whose value carries it must not be stored or joined. */
  invalidateTag(tag: string): void {
    this.invalidations.record(`t:${tag}`);
    this.flights.invalidate((_key, flight) => flight.tags.includes(tag));
  }

  /** Runs an L2 call with the timeout and the outage breaker; `ok: false` when L2 is down. */
  async shared<T>(run: (l2: SharedTier) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    const { l2 } = this;
    if (!l2 || this.breaker.open()) return { ok: false };
    try {
      const value = await withinL2Deadline(run(l2), this.options.l2TimeoutMs);
      this.l2Answered();
      return { ok: true, value };
    } catch (error) {
      this.l2Failed(error);
      return { ok: false };
    }
  }

  /** An invalidation L2 must learn of: done now, or queued until L2 is back. */
  async invalidateShared(run: (l2: SharedTier) => Promise<unknown>): Promise<void> {
    if (!this.l2) return;
    const outcome = await this.shared(run);
    if (outcome.ok) return;
    this.replays.push(async () => {
      const retried = await this.shared(run);
      if (!retried.ok) throw new Error('l2 still unavailable');
    });
  }

  /**
   * Reads L2 (if any and reachable): the entry when valid, and the generations a fetch must
   * snapshot; undefined when L2 is down. The hot path of every L1 miss: one read, no closure.
   */
  async readShared(fullKey: string, tags: readonly string[]): Promise<SharedOutcome | undefined> {
    const { readL2, readL2Batched } = this;
    if (readL2 === undefined || this.breaker.open()) return undefined;
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
      this.l2Failed(error);
      return undefined;
    }
    this.l2Answered();
    const { gens } = read;
    for (let i = 0; i < tags.length; i++) this.tags.learn(tags[i] as string, gens[i] ?? 0);
    let entry: CacheEntry | undefined;
    if (read.raw !== null) {
      try {
        entry = decodeEnvelope(read.raw, this.options.serializer);
        // Generations just read from L2 are exact for the tags we asked about; an entry with
        // other tags is validated inside L2 instead.
        if (hasUnnamedTag(entry, tags)) {
          const validated = await this.shared((shared) => shared.readValidated(fullKey, tags));
          if (!validated.ok) return undefined;
          read = validated.value;
          entry = read.raw === null ? undefined : decodeEnvelope(read.raw, this.options.serializer);
        }
        if (entry) for (const [tag, gen] of entry.tags) this.tags.learn(tag, gen);
        if (entry && !this.tags.valid(entry)) entry = undefined;
      } catch (error) {
        this.failed({ key: fullKey, tier: 'l2', error, reason: 'undecodable entry' });
        entry = undefined;
      }
    }
    return { entry, tags, gens: read.gens, keyGen: read.keyGen, fromL2: true };
  }

  /** Bumps a tag on L2 (or queues it), here at once, and on the other instances. */
  async bumpTag(fullTag: string): Promise<void> {
    let gen: number | undefined;
    if (this.l2) {
      const bumped = await this.shared((l2) => l2.bumpTag(fullTag));
      if (bumped.ok) gen = bumped.value;
      else await this.invalidateShared((l2) => l2.bumpTag(fullTag));
    }
    // Locally at once, whatever L2 says: this instance never serves the old values again.
    const local = this.tags.generation(fullTag) + 1;
    this.tags.set(fullTag, Math.max(local, gen ?? 0));
    this.invalidateTag(fullTag);
    this.events.emit('invalidate', { tag: fullTag, reason: 'local' });
    await this.publish(gen === undefined ? { type: 'tag', tag: fullTag } : { type: 'tag', tag: fullTag, gen });
  }

  async publish(message: BusMessage): Promise<void> {
    if (!this.bus) return;
    try {
      // Bounded like any L2 call: with Redis down the client would otherwise hold the publish
      // (and the caller's delete) in its offline queue until the failover is over.
      await withinL2Deadline(this.bus.publish({ ...message, from: this.instanceId }), this.options.l2TimeoutMs);
    } catch (error) {
      this.failed({ error, reason: 'bus publish failed' });
    }
  }

  /** L2 answered a call: closes the breaker, and replays what an outage held back. */
  private l2Answered(): void {
    if (this.breaker.close()) void this.replays.replay();
  }

  /** An L2 call failed or timed out: skip L2 for `l2RetryAfterMs`. */
  private l2Failed(error: unknown): void {
    this.breaker.trip();
    this.failed({ tier: 'l2', error, reason: 'l2 unavailable' });
  }

  private onBusMessage(message: BusMessage & { from: string }): void {
    // Whatever arrives on the channel is checked: a malformed message must not throw inside
    // the Redis client's event handler.
    if (!message || typeof message !== 'object' || message.from === this.instanceId) return;
    if (message.type === 'tag') {
      if (typeof message.tag !== 'string') return;
      if (typeof message.gen === 'number') this.tags.learn(message.tag, message.gen);
      else this.tags.set(message.tag, this.tags.generation(message.tag) + 1);
      this.invalidateTag(message.tag);
      this.events.emit('invalidate', { tag: message.tag, reason: 'bus' });
      return;
    }
    if ((message.type !== 'delete' && message.type !== 'set') || !Array.isArray(message.keys)) return;
    for (const key of message.keys) {
      if (typeof key !== 'string') continue;
      this.invalidateKey(key);
      this.events.emit('invalidate', { key, reason: 'bus' });
    }
  }
}

/** Whether the entry carries a tag the read did not ask generations for. */
function hasUnnamedTag(entry: CacheEntry, tags: readonly string[]): boolean {
  for (const pair of entry.tags) if (!tags.includes(pair[0])) return true;
  return false;
}
