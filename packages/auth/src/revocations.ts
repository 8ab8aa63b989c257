import { AuthError } from './errors.ts';
import type { RevocationBus, SessionRevocation, SessionStore } from './types.ts';

/** `createAuth`'s `revocations` option: how every instance learns of every revocation. */
export interface RevocationOptions {
  /**
   * Revocations reach the other instances through it within milliseconds. Without one they
   * learn by the poll alone (within `pollIntervalMs`).
   */
  bus?: RevocationBus;
  /**
   * How often the session store is asked for sessions revoked since the previous poll: the
   * longest a revocation whose bus message was lost stays unknown to an instance.
   * @default 5000
   */
  pollIntervalMs?: number;
}

/** Called with each session revocation this instance learns of, once per session. */
export type SessionRevokedListener = (revocation: SessionRevocation) => void | Promise<void>;

/**
 * An in-process bus: several `createAuth` instances in one process (tests, workers) hear each
 * other's revocations. Across processes use `createRedisRevocationBus` from
 * `@switchboard/auth/redis`.
 */
export function createMemoryRevocationBus(): RevocationBus {
  const handlers = new Set<(revocations: readonly SessionRevocation[]) => void>();
  return {
    async publish(revocations) {
      const batch = revocations.map(({ sessionId, userId }) => ({ sessionId, userId }));
      // Delivered asynchronously, as a real bus would.
      await Promise.resolve();
      for (const handler of handlers) handler(batch);
    },
    async subscribe(handler) {
      // A handler of its own per subscription: one function subscribed twice stays two subscribers.
      const own = (revocations: readonly SessionRevocation[]) => handler(revocations);
      handlers.add(own);
      return () => {
        handlers.delete(own);
      };
    },
  };
}

/** The access tokens' clock tolerance (see access-tokens.ts): a token lives this much past `exp`. */
const CLOCK_TOLERANCE_MS = 5_000;
/**
 * Each poll reaches this far behind the previous one: a revocation is stamped by the clock of
 * the instance that made it (skewed against ours) and committed a moment after its stamp.
 */
const RECONCILE_OVERLAP_MS = 30_000;

export interface RevocationTrackerSettings {
  store: Pick<SessionStore, 'listRevokedSince'>;
  /** Absent: only this instance's own revocations are known (no bus, no start-up fill, no poll). */
  revocations?: RevocationOptions | undefined;
  /** Lifetime of access tokens: a revoked session's id is kept until its tokens have expired. */
  accessTtlMs: number;
  logger: { warn(message: string): void };
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/** The set of revoked sessions one instance refuses, and how it is kept in step. Internal. */
export interface RevocationTracker {
  /** No I/O: a lookup in the set. */
  isRevoked(sessionId: string): boolean;
  /** This instance revoked these sessions: refuse them here at once, then tell the others. */
  revoked(revocations: readonly SessionRevocation[]): Promise<void>;
  /** This instance revoked sessions, stamped `at`: learn which from the store, then as `revoked`. */
  revokedAt(at: Date): Promise<void>;
  onSessionRevoked(listener: SessionRevokedListener): () => void;
  /** Subscribes to the bus, then fills the set from the store, then polls. */
  start(): Promise<void>;
  /** Ends the subscription and the poll (waiting for one in flight). */
  close(): Promise<void>;
  /** One poll of the store, as the timer runs it. */
  poll(): Promise<void>;
  /** How many session ids the set holds. */
  size(): number;
}

/**
 * Keeps the revoked session ids of the last access-token lifetime in memory, so that
 * `verifyAccessToken` refuses their tokens without asking anyone. Fed by this instance's own
 * revocations, by the bus, and by polling the store (what the bus lost).
 */
export function createRevocationTracker(settings: RevocationTrackerSettings): RevocationTracker {
  const { store, logger, revocations: options } = settings;
  const now = settings.now ?? Date.now;
  const bus = options?.bus;
  const pollIntervalMs = options?.pollIntervalMs ?? 5_000;
  if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0))
    throw new TypeError(`revocations.pollIntervalMs must be > 0, got ${pollIntervalMs}`);
  if (options && typeof store.listRevokedSince !== 'function')
    throw new TypeError('revocations need a session store with listRevokedSince (see the changelog)');
  // Counted from when this instance learns of a revocation, which is never before it happened:
  // every token of the session has expired by then. Also long enough that a poll's overlap
  // never finds a revocation whose id was already dropped (it would be announced twice).
  const retentionMs = Math.max(
    settings.accessTtlMs + 2 * CLOCK_TOLERANCE_MS,
    RECONCILE_OVERLAP_MS + 2 * pollIntervalMs,
  );

  // Session id → when it may be forgotten. Inserted with one retention in the order learned, so
  // the first entries are the first due, and forgetting stops at the first that is not.
  const revokedUntil = new Map<string, number>();
  const listeners = new Set<SessionRevokedListener>();
  let lastPollStartedAt: number | undefined;
  let unsubscribe: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;
  let failing = false;
  let closed = false;

  const forgetExpired = (at: number) => {
    for (const [sessionId, until] of revokedUntil) {
      if (until > at) break;
      revokedUntil.delete(sessionId);
    }
  };

  const announce = (revocation: SessionRevocation) => {
    for (const listener of listeners) {
      // A listener's failure must not stop the others, nor the revocation itself.
      const complain = (error: unknown) =>
        logger.warn(`an onSessionRevoked listener failed: ${error instanceof Error ? error.message : String(error)}`);
      try {
        const result = listener({ ...revocation });
        if (result && typeof result.catch === 'function') result.catch(complain);
      } catch (error) {
        complain(error);
      }
    }
  };

  const learn = (found: readonly SessionRevocation[]) => {
    const at = now();
    forgetExpired(at);
    for (const { sessionId, userId } of found) {
      if (revokedUntil.has(sessionId)) continue;
      revokedUntil.set(sessionId, at + retentionMs);
      announce({ sessionId, userId });
    }
  };

  const reconcile = async () => {
    const startedAt = now();
    // Never further back than the retention: older revocations cover only expired tokens.
    const since = Math.max(
      (lastPollStartedAt ?? Number.NEGATIVE_INFINITY) - RECONCILE_OVERLAP_MS,
      startedAt - retentionMs,
    );
    learn(await store.listRevokedSince(new Date(since)));
    lastPollStartedAt = startedAt;
  };

  const pollOnce = async () => {
    try {
      await reconcile();
      failing = false;
    } catch (error) {
      // Once per outage: the poll keeps trying, and the bus still works meanwhile.
      if (!failing)
        logger.warn(`could not poll revoked sessions: ${error instanceof Error ? error.message : String(error)}`);
      failing = true;
    }
  };

  const schedule = () => {
    if (closed) return;
    // A chain of timeouts, not an interval: polls never overlap, however slow the store.
    timer = setTimeout(() => {
      inFlight = pollOnce().finally(() => {
        inFlight = undefined;
        schedule();
      });
    }, pollIntervalMs);
    // The poll alone must not keep a process alive.
    timer.unref?.();
  };

  const revoked = async (found: readonly SessionRevocation[]) => {
    if (found.length === 0) return;
    learn(found);
    if (!bus) return;
    try {
      await bus.publish(found);
    } catch (error) {
      logger.warn(
        `could not publish a revocation (other instances learn it from the store within ${pollIntervalMs} ms): ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  };

  return {
    isRevoked: (sessionId) => revokedUntil.has(sessionId),
    revoked,
    async revokedAt(at) {
      let found: SessionRevocation[];
      try {
        found = await store.listRevokedSince(at);
      } catch (error) {
        // The revocation itself is done; the others (and this instance) find it by the poll.
        logger.warn(
          `could not read the sessions just revoked: ${error instanceof Error ? error.message : String(error)}`,
        );
        return;
      }
      await revoked(found);
    },
    onSessionRevoked(listener) {
      if (typeof listener !== 'function') throw new TypeError('onSessionRevoked needs a function');
      // A wrapper per registration, so that registering one function twice needs two removals.
      const own: SessionRevokedListener = (revocation) => listener(revocation);
      listeners.add(own);
      return () => {
        listeners.delete(own);
      };
    },
    async start() {
      if (!options) return;
      // Subscribe first, then read the store: a revocation made in between is then heard on
      // the bus or found by the read, never missed by both.
      if (bus) unsubscribe = await bus.subscribe((found) => learn(found));
      try {
        await reconcile();
      } catch (error) {
        unsubscribe?.();
        throw new AuthError('STORE_UNAVAILABLE', 'could not read the revoked sessions at start-up', { cause: error });
      }
      schedule();
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe?.();
      unsubscribe = undefined;
      await inFlight;
    },
    poll: pollOnce,
    size: () => revokedUntil.size,
  };
}
