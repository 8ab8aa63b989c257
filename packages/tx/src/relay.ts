import type { PoolClient } from 'pg';
import { PublishTimeoutError } from './errors.ts';
import type { Outbox, OutboxEvent } from './outbox.ts';
import { checkChannelName, checkTableName, DEFAULT_OUTBOX_CHANNEL, DEFAULT_OUTBOX_TABLE } from './schema.ts';
import { guardConnection } from './transaction.ts';

/** What the relay needs of a pool: a `pg.Pool`. It holds one connection for LISTEN and one per batch. */
export interface RelayPool {
  connect(): Promise<PoolClient>;
}

/** Options of {@link createOutboxRelay}. Durations in ms. */
export interface OutboxRelayOptions {
  /** A `pg.Pool` on the primary; the relay never ends it. */
  pool: RelayPool;
  /**
   * Delivers one event (to Redis, a broker, a webhook). Resolve once it is accepted; throw to have
   * it retried. May be called more than once for one event (at-least-once): deduplicate on `id`.
   */
  publish: (event: OutboxEvent) => Promise<unknown> | unknown;
  /** Take table and channel from this outbox. */
  outbox?: Pick<Outbox, 'table' | 'channel'>;
  /** @default outbox.table ?? 'switchboard_outbox' */
  table?: string;
  /** @default outbox.channel ?? 'switchboard_outbox' */
  channel?: string;
  /** Most events claimed per batch (one transaction). @default 100 */
  batchSize?: number;
  /** Polling interval when no notification arrives (also how soon a retry that came due runs). @default 1000 */
  pollIntervalMs?: number;
  /**
   * After a batch of several events, wait this long before claiming the next one, so that under
   * load events travel together (one claim and one mark per batch instead of per event). A quiet
   * outbox (batches of one) is not delayed; a full batch is followed at once. @default 5
   */
  lingerMs?: number;
  /** LISTEN for the outbox's NOTIFY to wake at once; `false` polls only. @default true */
  listen?: boolean;
  /** A `publish` that has not settled by then counts as failed. @default 30000 */
  publishTimeoutMs?: number;
  /** Per-event retry backoff: attempt n waits `min(maxMs, initialMs * 2^(n-1))` ±20 %. @default { initialMs: 1000, maxMs: 300000 } */
  backoff?: { initialMs?: number; maxMs?: number };
  /** After this many failed attempts an event is marked dead (kept, no longer retried, its key moves on). @default Infinity */
  maxAttempts?: number;
  /** Delivered events older than this are deleted by the periodic cleanup. @default 7 days */
  retentionMs?: number;
  /** How often the relay runs the cleanup; `0` disables it (call `cleanup()` yourself). @default 1 hour */
  cleanupIntervalMs?: number;
}

/** A delivery attempt failed. */
export interface DeliveryFailure {
  event: OutboxEvent;
  error: unknown;
  /** Failed attempts so far, this one included. */
  attempts: number;
  /** When it will be tried again; `undefined` when it is now dead. */
  nextAttemptAt: Date | undefined;
  dead: boolean;
}

/** What one claim-publish-mark cycle did. */
export interface BatchResult {
  claimed: number;
  delivered: number;
  failed: number;
}

/** Events of a relay, for logs and metrics. */
export interface OutboxRelayEvents {
  /** After the transaction marking it delivered committed. */
  delivered: (event: OutboxEvent) => void;
  /** A publish failed or timed out; it will be retried unless `dead`. */
  failed: (failure: DeliveryFailure) => void;
  /** An infrastructure error (claim query, LISTEN connection); the relay keeps going. */
  error: (error: unknown) => void;
  /** The LISTEN connection is up (`true`) or lost (`false`, polling continues, reconnecting). */
  listening: (up: boolean) => void;
}

/** A running (or stopped) relay. */
export interface OutboxRelay {
  /** Starts listening and polling in the background. Calling it while running does nothing. */
  start(): void;
  /** Stops; resolves once the batch in flight has finished and the LISTEN connection is released. */
  stop(): Promise<void>;
  /** Runs one claim-publish-mark cycle now (tests, cron jobs, draining). */
  runOnce(): Promise<BatchResult>;
  /**
   * Tells a running relay that events were just committed, as a NOTIFY would, without the
   * database: for producers in the relay's own process, with an outbox created with
   * `notify: false` (PostgreSQL serializes the commits of transactions that NOTIFY, WAL flush
   * included). Events of other processes are then found by polling (`pollIntervalMs`).
   */
  wake(): void;
  /** Deletes delivered events older than `retentionMs`; returns how many. */
  cleanup(): Promise<number>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof OutboxRelayEvents>(event: E, listener: OutboxRelayEvents[E]): () => void;
  /** True between `start()` and `stop()`. */
  readonly running: boolean;
  /** True while the LISTEN connection is up. */
  readonly listening: boolean;
}

interface EventRow {
  position: string;
  id: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: Record<string, string>;
  created_at: Date;
  attempts: number;
}

const CLEANUP_CHUNK = 5000;

function positive(value: number, name: string, allowZero = false): number {
  if (!(Number.isFinite(value) && (allowZero ? value >= 0 : value > 0))) {
    throw new TypeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return value;
}

/**
 * Creates the relay that publishes committed outbox events. Run one on every instance: they share
 * the work through `FOR UPDATE SKIP LOCKED`, and each key is only ever claimed at its oldest
 * undelivered event, so per-key order holds across relays. At-least-once: an event whose publish
 * succeeded but whose "delivered" mark was lost (crash) is published again, with the same id.
 *
 * @example
 * const relay = createOutboxRelay({ pool, publish: (event) => redis.publish(event.topic, JSON.stringify(event)) });
 * relay.on('failed', ({ event, error }) => log.warn({ id: event.id, error }, 'outbox publish failed'));
 * relay.start();
 * // on shutdown: await relay.stop();
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  if (typeof options?.pool?.connect !== 'function') throw new TypeError('createOutboxRelay needs a pg.Pool as pool');
  if (typeof options.publish !== 'function') throw new TypeError('createOutboxRelay needs a publish function');
  const { pool, publish } = options;
  const table = checkTableName(options.table ?? options.outbox?.table ?? DEFAULT_OUTBOX_TABLE);
  const channel = checkChannelName(options.channel ?? options.outbox?.channel ?? DEFAULT_OUTBOX_CHANNEL);
  const batchSize = positive(options.batchSize ?? 100, 'batchSize');
  if (!Number.isInteger(batchSize)) throw new TypeError('batchSize must be an integer');
  const pollIntervalMs = positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
  const lingerMs = positive(options.lingerMs ?? 5, 'lingerMs', true);
  const listen = options.listen ?? true;
  const publishTimeoutMs = positive(options.publishTimeoutMs ?? 30_000, 'publishTimeoutMs');
  const initialMs = positive(options.backoff?.initialMs ?? 1000, 'backoff.initialMs', true);
  const maxMs = positive(options.backoff?.maxMs ?? 300_000, 'backoff.maxMs', true);
  if (maxMs < initialMs) throw new TypeError('backoff.maxMs must be >= backoff.initialMs');
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  if (!(maxAttempts === Number.POSITIVE_INFINITY || (Number.isInteger(maxAttempts) && maxAttempts > 0))) {
    throw new TypeError('maxAttempts must be a positive integer (or Infinity)');
  }
  const retentionMs = positive(options.retentionMs ?? 7 * 24 * 3600_000, 'retentionMs', true);
  const cleanupIntervalMs = positive(options.cleanupIntervalMs ?? 3600_000, 'cleanupIntervalMs', true);

  // Only the oldest undelivered event of each key (its head) may be claimed, locked with SKIP
  // LOCKED; with it come the following events of the same key. Another relay can reach those
  // only once the head is delivered, i.e. after this batch commits, so a key is never worked
  // on by two relays at once and its events go out in position order.
  //
  // Two ways to find heads, same result. The walk goes through pending events in position order,
  // checking each with a scalar subquery (an index probe whatever the statistics: a join here
  // once picked a quadratic plan on a freshly created table) and stops after `batchSize` heads:
  // cheap when keys are many. With a few hot keys and a deep backlog it would walk the whole
  // backlog every batch, so then the relay switches to a loose index scan over the distinct keys
  // (one probe per key).
  //
  // Outbox statistics are always stale (the pending share swings from ~0 to everything during an
  // outage), so the plans must not depend on them. The position-ordered index carries the extra
  // predicate `next_attempt_at IS NOT NULL` (always true): only the walk, whose
  // `next_attempt_at <= now()` implies it, can use it; per-key probes and followers are left with
  // the (key, position) index, which is what they need. The loose scan's heads test
  // `coalesce(delivered_at, dead_at) IS NULL` (the same condition) so that no partial index
  // matches and they are fetched by primary key.
  const walkHeads = `
  SELECT o.position, o.key FROM ${table} o
   WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= now()
     AND o.position = (
           SELECT p.position FROM ${table} p
            WHERE p.key = o.key AND p.delivered_at IS NULL AND p.dead_at IS NULL
            ORDER BY p.key, p.position
            LIMIT 1)
   ORDER BY o.position
   LIMIT $1
   FOR UPDATE OF o SKIP LOCKED`;
  const skipScanHeads = `
  SELECT o.position, o.key FROM ${table} o
   WHERE coalesce(o.delivered_at, o.dead_at) IS NULL AND o.next_attempt_at <= now()
     AND o.position = ANY (ARRAY(SELECT position FROM key_heads))
   ORDER BY o.position
   LIMIT $1
   FOR UPDATE OF o SKIP LOCKED`;
  const keyHeads = `key_heads(key, position) AS (
  (SELECT key, position FROM ${table}
    WHERE delivered_at IS NULL AND dead_at IS NULL
    ORDER BY key, position LIMIT 1)
  UNION ALL
  SELECT n.key, n.position FROM key_heads k
   CROSS JOIN LATERAL (
         SELECT key, position FROM ${table}
          WHERE key > k.key AND delivered_at IS NULL AND dead_at IS NULL
          ORDER BY key, position LIMIT 1) n
)`;
  const followers = `
SELECT f.position::text AS position, f.id::text AS id, f.topic, f.key, f.payload, f.headers, f.created_at, f.attempts
  FROM heads h
 CROSS JOIN LATERAL (
       SELECT * FROM ${table} e
        WHERE e.key = h.key AND e.position >= h.position AND e.delivered_at IS NULL AND e.dead_at IS NULL
        ORDER BY e.key, e.position
        LIMIT $1) f
 ORDER BY f.position
 LIMIT $1`;
  const claimByWalk = `WITH heads AS (${walkHeads}\n)${followers}`;
  const claimBySkipScan = `WITH RECURSIVE ${keyHeads}, heads AS (${skipScanHeads}\n)${followers}`;
  let skipScan = false;
  const markSql = `
UPDATE ${table} AS o
   SET attempts = o.attempts + 1,
       delivered_at = CASE WHEN r.ok THEN now() END,
       dead_at = CASE WHEN r.dead THEN now() END,
       last_error = r.error,
       next_attempt_at = CASE WHEN r.ok OR r.dead THEN o.next_attempt_at
                              ELSE now() + r.delay_ms * interval '1 millisecond' END
  FROM unnest($1::bigint[], $2::bool[], $3::bool[], $4::text[], $5::float8[]) AS r(position, ok, dead, error, delay_ms)
 WHERE o.position = r.position
RETURNING o.position::text AS position, o.next_attempt_at`;
  const cleanupSql = `
DELETE FROM ${table} WHERE position IN (
  SELECT position FROM ${table}
   WHERE delivered_at < now() - $1::float8 * interval '1 millisecond'
   ORDER BY delivered_at LIMIT ${CLEANUP_CHUNK})`;

  const listeners: { [E in keyof OutboxRelayEvents]: Set<OutboxRelayEvents[E]> } = {
    delivered: new Set(),
    failed: new Set(),
    error: new Set(),
    listening: new Set(),
  };
  const emit = <E extends keyof OutboxRelayEvents>(event: E, ...args: Parameters<OutboxRelayEvents[E]>) => {
    const set = listeners[event] as Set<(...a: Parameters<OutboxRelayEvents[E]>) => void>;
    if (event === 'error' && set.size === 0) {
      const error = args[0];
      process.emitWarning(error instanceof Error ? error : new Error(String(error)), { type: 'OutboxRelayWarning' });
      return;
    }
    for (const listener of set) {
      try {
        listener(...args);
      } catch {
        // A throwing listener must not stop the relay.
      }
    }
  };

  let running = false;
  let loop: Promise<void> | undefined;
  let listenLoop: Promise<void> | undefined;
  let listenClient: PoolClient | undefined;
  let wakeRequested = false;
  let wake: (() => void) | undefined;
  let lastCleanup = Date.now();

  const requestWake = () => {
    wakeRequested = true;
    wake?.();
  };

  const publishWithTimeout = (event: OutboxEvent): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      Promise.resolve().then(() => publish(event)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new PublishTimeoutError(event.id, publishTimeoutMs)), publishTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  };

  const delayFor = (attempts: number) => {
    const base = Math.min(maxMs, initialMs * 2 ** (attempts - 1));
    return base * (0.8 + Math.random() * 0.4);
  };

  async function runOnce(): Promise<BatchResult> {
    const client = await pool.connect();
    const unguard = guardConnection(client);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<EventRow>(skipScan ? claimBySkipScan : claimByWalk, [batchSize]);
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { claimed: 0, delivered: 0, failed: 0 };
      }
      const byKey = new Map<string, OutboxEvent[]>();
      for (const row of rows) {
        const event: OutboxEvent = {
          id: row.id,
          topic: row.topic,
          key: row.key,
          payload: row.payload,
          headers: row.headers,
          createdAt: row.created_at,
          attempts: row.attempts,
          position: row.position,
        };
        const run = byKey.get(row.key);
        if (run) run.push(event);
        else byKey.set(row.key, [event]);
      }
      // Full batches from few keys: hot keys with a backlog behind them. Many keys: walk again.
      if (!skipScan && rows.length >= batchSize && byKey.size <= batchSize / 4) skipScan = true;
      else if (skipScan && byKey.size > batchSize / 2) skipScan = false;
      const delivered: OutboxEvent[] = [];
      const failures: { event: OutboxEvent; error: unknown; dead: boolean; delayMs: number }[] = [];
      await Promise.all(
        [...byKey.values()].map(async (run) => {
          for (const event of run) {
            try {
              await publishWithTimeout(event);
              delivered.push(event);
            } catch (error) {
              const attempts = event.attempts + 1;
              failures.push({ event, error, dead: attempts >= maxAttempts, delayMs: delayFor(attempts) });
              // The rest of this key waits behind the failed event.
              return;
            }
          }
        }),
      );
      const marked = [
        ...delivered.map((event) => ({ event, ok: true, dead: false, error: null as string | null, delayMs: 0 })),
        ...failures.map(({ event, error, dead, delayMs }) => ({
          event,
          ok: false,
          dead,
          error: (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000),
          delayMs,
        })),
      ];
      const { rows: updated } = await client.query<{ position: string; next_attempt_at: Date }>(markSql, [
        marked.map((m) => m.event.position),
        marked.map((m) => m.ok),
        marked.map((m) => m.dead),
        marked.map((m) => m.error),
        marked.map((m) => m.delayMs),
      ]);
      await client.query('COMMIT');
      const nextAt = new Map(updated.map((row) => [row.position, row.next_attempt_at]));
      for (const event of delivered) emit('delivered', event);
      for (const { event, error, dead } of failures) {
        emit('failed', {
          event,
          error,
          attempts: event.attempts + 1,
          dead,
          nextAttemptAt: dead ? undefined : nextAt.get(event.position),
        });
      }
      return { claimed: rows.length, delivered: delivered.length, failed: failures.length };
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      unguard();
      client.release(broken);
    }
  }

  async function cleanup(): Promise<number> {
    let total = 0;
    for (;;) {
      const client = await pool.connect();
      const unguard = guardConnection(client);
      let count: number;
      try {
        count = (await client.query(cleanupSql, [retentionMs])).rowCount ?? 0;
      } catch (error) {
        unguard();
        client.release(error instanceof Error ? error : true);
        throw error;
      }
      unguard();
      client.release();
      total += count;
      if (count < CLEANUP_CHUNK) return total;
    }
  }

  const released = new WeakSet<PoolClient>();
  function releaseOnce(client: PoolClient, error?: Error | boolean) {
    if (released.has(client)) return;
    released.add(client);
    client.release(error);
  }

  async function mainLoop(): Promise<void> {
    let errorDelay = 100;
    while (running) {
      wakeRequested = false;
      let result: BatchResult | undefined;
      try {
        result = await runOnce();
        errorDelay = 100;
      } catch (error) {
        emit('error', error);
        await waitForWake(errorDelay);
        errorDelay = Math.min(errorDelay * 2, pollIntervalMs * 5);
        continue;
      }
      if (cleanupIntervalMs > 0 && Date.now() - lastCleanup >= cleanupIntervalMs) {
        lastCleanup = Date.now();
        try {
          await cleanup();
        } catch (error) {
          emit('error', error);
        }
      }
      // A full batch means there may be more: go again without waiting.
      if (result.claimed >= batchSize) continue;
      // Under load (events arrived while this batch ran), let the next ones gather for a moment.
      // A batch of one is a quiet outbox: the next event goes out at once.
      if (result.claimed > 1 && lingerMs > 0) await sleep(lingerMs, false);
      if (wakeRequested) continue;
      await waitForWake(pollIntervalMs);
    }
  }

  /**
   * Sleeps `ms`; `stop()` cuts it short, and so does a notification when `wakeable` (otherwise
   * notifications are only remembered in `wakeRequested`).
   */
  function sleep(ms: number, wakeable: boolean): Promise<void> {
    if (!running || (wakeable && wakeRequested)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        interrupt = undefined;
        resolve();
      }
      interrupt = done;
      if (wakeable) wake = done;
    });
  }
  let interrupt: (() => void) | undefined;
  const waitForWake = (ms: number) => sleep(ms, true);

  async function listenLoopFn(): Promise<void> {
    let delay = 100;
    while (running) {
      if (listenClient) {
        // Connected: wait until the connection is lost or the relay stops.
        await new Promise<void>((resolve) => {
          lost = resolve;
        });
        continue;
      }
      let client: PoolClient | undefined;
      try {
        client = await pool.connect();
        const current = client;
        current.on('notification', onNotification);
        const onLost = (error?: unknown) => {
          if (listenClient !== current) return;
          listenClient = undefined;
          current.removeListener('notification', onNotification);
          releaseOnce(current, error instanceof Error ? error : true);
          if (running) {
            emit('error', error ?? new Error('the LISTEN connection ended'));
            emit('listening', false);
          }
          lost?.();
        };
        current.on('error', onLost);
        current.on('end', () => onLost());
        await current.query(`LISTEN ${channel}`);
        if (!running) {
          releaseOnce(current, true);
          return;
        }
        listenClient = current;
        delay = 100;
        emit('listening', true);
        // Events committed while we were not listening: look now.
        requestWake();
      } catch (error) {
        if (client) releaseOnce(client, error instanceof Error ? error : true);
        if (!running) return;
        emit('error', error);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, delay);
          stopListenWait = () => {
            clearTimeout(timer);
            resolve(undefined);
          };
        });
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
  let lost: (() => void) | undefined;
  let stopListenWait: (() => void) | undefined;
  const onNotification = () => requestWake();

  return {
    start() {
      if (running) return;
      running = true;
      lastCleanup = Date.now();
      if (listen) listenLoop = listenLoopFn();
      loop = mainLoop();
    },
    async stop() {
      if (!running) {
        await loop;
        return;
      }
      running = false;
      interrupt?.();
      stopListenWait?.();
      lost?.();
      await loop;
      await listenLoop;
      if (listenClient) {
        const client = listenClient;
        listenClient = undefined;
        client.removeListener('notification', onNotification);
        // Destroyed rather than pooled: it is still subscribed to the channel.
        releaseOnce(client, true);
      }
    },
    runOnce,
    wake: requestWake,
    cleanup,
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
    get running() {
      return running;
    },
    get listening() {
      return listenClient !== undefined;
    },
  };
}
