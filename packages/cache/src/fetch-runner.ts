import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheCore, SharedOutcome, Snapshot } from './cache-core.ts';
import { createEntry } from './entries.ts';
import { encodeEnvelope } from './envelope.ts';
import { FetchTimeoutError } from './errors.ts';
import { withTimeout } from './fetch-timeout.ts';
import type { GetOrSetOptions } from './options.ts';
import { type Flight, NOT_STARTED } from './single-flight.ts';
import type { CacheEntry, LocalHit } from './types.ts';

/**
 * What `getOrSet` does past an L1 hit, as one flight per key: read L2, else serve a stale value
 * or take the cluster lock, run the fetcher (timeouts, stale fallback, background refresh) and
 * store its value compare-and-set. Functions of the core (not a class): no allocation per view.
 */
export function startFlight<T>(
  core: CacheCore,
  fullKey: string,
  fetcher: () => T | Promise<T>,
  options: GetOrSetOptions,
  hit: LocalHit | undefined,
  tags: readonly string[],
): Promise<T> {
  const flight: Flight = {
    promise: NOT_STARTED,
    key: fullKey,
    background: false,
    invalidated: false,
    tags,
  };
  // The flight stays registered until the fetch itself ends, even when callers got a stale
  // value early: later callers join it instead of starting another fetch. Registered before
  // `fill` starts, since `fill` may end it.
  core.flights.start(flight);
  flight.promise = fill(core, fullKey, fetcher, options, hit, flight);
  return flight.promise as Promise<T>;
}

/** The L2 hit path, kept small (its state lives across the await); the rest is `fillMiss`. */
async function fill<T>(
  core: CacheCore,
  fullKey: string,
  fetcher: () => T | Promise<T>,
  options: GetOrSetOptions,
  hit: LocalHit | undefined,
  flight: Flight,
): Promise<T> {
  const at = core.options.now();
  let shared: SharedOutcome | undefined;
  if (core.l2) {
    try {
      shared = await core.readShared(fullKey, flight.tags);
    } catch (error) {
      core.flights.end(flight);
      throw error;
    }
    const entry = shared?.entry;
    if (entry !== undefined && core.options.now() < entry.freshUntil) {
      try {
        core.counters.l2Hit();
        if (core.events.listening.hit) core.events.emit('hit', { key: fullKey, tier: 'l2' });
        if (!flight.invalidated) core.l1?.set(fullKey, entry, core.options.now());
        return entry.value as T;
      } finally {
        core.flights.end(flight);
      }
    }
    if (shared) core.counters.l2Miss();
  }
  return fillMiss(core, fullKey, fetcher, options, hit, flight, at, shared);
}

/** No fresh value in L2 (or none reachable): a stale value, the cluster lock, or the fetcher. */
async function fillMiss<T>(
  core: CacheCore,
  fullKey: string,
  fetcher: () => T | Promise<T>,
  options: GetOrSetOptions,
  hit: LocalHit | undefined,
  flight: Flight,
  at: number,
  shared: SharedOutcome | undefined,
): Promise<T> {
  const tags = flight.tags;
  let stale = hit && at < hit.entry.graceUntil && core.tags.valid(hit.entry) ? hit.entry : undefined;
  let snapshot: Snapshot | undefined;

  try {
    if (core.l2) {
      if (shared) {
        snapshot = shared;
        const { entry } = shared;
        // L2 answered: it alone decides what may stand in. An L1 copy it no longer holds was
        // invalidated (a lost bus message) and must not be served, not even as stale.
        stale = entry && core.options.now() < entry.graceUntil ? entry : undefined;
      } else if (hit && at < hit.entry.freshUntil && core.tags.valid(hit.entry)) {
        // L2 is down and our copy is within its TTL: serve it rather than load the origin.
        core.counters.l1Hit();
        core.events.emit('hit', { key: fullKey, tier: 'l1', reason: 'l2 unavailable' });
        return hit.entry.value as T;
      }
    }
    snapshot ??= { tags, gens: tags.map((tag) => core.tags.generation(tag)), keyGen: 0, fromL2: false };
    core.counters.miss();
    if (core.events.listening.miss) core.events.emit('miss', { key: fullKey });

    const waited = await waitForClusterFill<T>(core, fullKey, tags, snapshot);
    if (waited.found) return waited.value;

    try {
      return await fetchAndStore(core, fullKey, fetcher, options, flight, snapshot, stale);
    } finally {
      const { token } = waited;
      // Released only if still ours: a fetch that outlived the lock must not free another's.
      if (waited.locked && token) void core.shared((l2) => l2.unlock(fullKey, token));
    }
  } finally {
    // A refresh left running in the background ends the flight itself when it lands.
    if (!flight.background) core.flights.end(flight);
  }
}

/** With `lock`: take the cluster lock, or wait for whoever holds it to fill L2. */
async function waitForClusterFill<T>(
  core: CacheCore,
  fullKey: string,
  tags: readonly string[],
  snapshot: Snapshot,
): Promise<{ found: true; value: T } | { found: false; locked: boolean; token?: string }> {
  const lock = core.options.lock;
  if (!lock || !snapshot.fromL2) return { found: false, locked: false };
  const token = randomBytes(9).toString('base64url');
  const acquired = await core.shared((l2) => l2.lock(fullKey, token, lock.ttlMs));
  if (!acquired.ok) return { found: false, locked: false };
  if (acquired.value) return { found: false, locked: true, token };
  const deadline = core.options.now() + lock.waitMs;
  while (core.options.now() < deadline) {
    await sleep(20);
    const shared = await core.readShared(fullKey, tags);
    if (!shared) break;
    if (shared.entry && core.options.now() < shared.entry.freshUntil) {
      core.counters.l2Hit();
      core.l1?.set(fullKey, shared.entry, core.options.now());
      return { found: true, value: shared.entry.value as T };
    }
  }
  return { found: false, locked: false };
}

/** Runs the fetcher with its timeouts; a stale value stands in if it is slow or fails. */
async function fetchAndStore<T>(
  core: CacheCore,
  fullKey: string,
  fetcher: () => T | Promise<T>,
  options: GetOrSetOptions,
  flight: Flight,
  snapshot: Snapshot,
  stale: CacheEntry | undefined,
): Promise<T> {
  core.counters.fetch();
  const hardTimeoutMs = options.hardTimeoutMs ?? core.options.hardTimeoutMs;
  const softTimeoutMs = options.softTimeoutMs ?? core.options.softTimeoutMs;
  const fetched =
    core.telemetry === undefined
      ? runFetcher(fullKey, fetcher, hardTimeoutMs)
      : core.telemetry.fill(fullKey, () => runFetcher(fullKey, fetcher, hardTimeoutMs));
  const stored = fetched.then((value) => store(core, fullKey, value, options, flight, snapshot));

  const serveStale = (reason: string, error?: unknown): T => {
    core.counters.staleServed();
    core.events.emit('stale', { key: fullKey, reason, error });
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
          core.failed({ key: fullKey, error, reason: 'background refresh failed' });
        })
        .finally(() => core.flights.end(flight));
      return serveStale('soft timeout');
    }
  }
  try {
    return await stored;
  } catch (error) {
    if (!stale) throw error;
    core.failed({ key: fullKey, error, reason: 'fetcher failed' });
    return serveStale(error instanceof FetchTimeoutError ? 'hard timeout' : 'fetcher failed', error);
  }
}

/** The fetcher, bounded by its hard timeout; called inside the fill span when tracing. */
function runFetcher<T>(fullKey: string, fetcher: () => T | Promise<T>, hardTimeoutMs: number | undefined): Promise<T> {
  return withTimeout(
    Promise.resolve().then(fetcher),
    hardTimeoutMs,
    () => new FetchTimeoutError(fullKey, hardTimeoutMs ?? 0),
  );
}

/**
 * Stores a fetched value: in L2 compare-and-set against the generations snapshotted before the
 * fetch (an invalidation that landed meanwhile wins), then in L1 unless invalidated here.
 */
async function store<T>(
  core: CacheCore,
  fullKey: string,
  value: T,
  options: GetOrSetOptions,
  flight: Flight,
  snapshot: Snapshot,
): Promise<T> {
  // Deleted (here or, via the bus, elsewhere) while we fetched: the value may predate that.
  if (flight.invalidated) return value;
  const entry = createEntry(core.options, value, snapshot.tags, snapshot.gens, options);
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
  if (!flight.invalidated && core.tags.valid(entry)) core.l1?.set(fullKey, entry, core.options.now());
  return value;
}
