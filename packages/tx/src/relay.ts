import type { PoolClient } from 'pg';
import { ClaimPlanner } from './claim-planner.ts';
import { createBatchRunner } from './delivery-batch.ts';
import { ListenLoop } from './listen-loop.ts';
import type { Outbox, OutboxEvent } from './outbox.ts';
import type { Telemetry } from './outbox-tracing.ts';
import { PollingLoop } from './polling-loop.ts';
import { deleteDeliveredEvents } from './relay-cleanup.ts';
import { RelayEmitter } from './relay-events.ts';
import { resolveRelayOptions } from './relay-options.ts';
import { relayStatements } from './relay-sql.ts';

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
  /**
   * OpenTelemetry: each publish runs in a `send <topic>` span that starts a trace of its own (it
   * runs later, maybe on another instance) with a link to the enqueue (the event's stored
   * `traceparent`); `publish` gets the event with this span's `traceparent` and the enqueue's as
   * `enqueue-traceparent`, for the subscriber's `outbox.withDeliverySpan`. `true` for the global
   * `@opentelemetry/api` (an optional peer dependency), or the API object. @default false
   */
  telemetry?: Telemetry;
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
  const resolved = resolveRelayOptions(options);
  const statements = relayStatements(resolved.table);
  const events = new RelayEmitter();
  const runOnce = createBatchRunner(resolved, statements, new ClaimPlanner(statements, resolved.batchSize), events);
  const cleanup = () => deleteDeliveredEvents(resolved.pool, statements.cleanup, resolved.retentionMs);
  const polling = new PollingLoop(runOnce, cleanup, events, resolved);
  const wake = () => polling.wake();
  const listener = resolved.listen ? new ListenLoop(resolved.pool, resolved.channel, wake, events) : undefined;

  return {
    start() {
      if (polling.running) return;
      listener?.start();
      polling.start();
    },
    async stop() {
      if (!polling.running) {
        // Stopped already, or stopping: wait for the batch in flight all the same.
        await polling.stop();
        return;
      }
      const pollingStopped = polling.stop();
      const listenerStopped = listener?.stop();
      await pollingStopped;
      await listenerStopped;
    },
    runOnce,
    wake,
    cleanup,
    on: (event, handler) => events.on(event, handler),
    get running() {
      return polling.running;
    },
    get listening() {
      return listener?.listening ?? false;
    },
  };
}
