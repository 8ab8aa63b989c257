import type { ClaimPlanner } from './claim-planner.ts';
import { guardConnection } from './connection.ts';
import { PublishTimeoutError } from './errors.ts';
import type { OutboxEvent } from './outbox.ts';
import type { BatchResult } from './relay.ts';
import type { RelayEmitter } from './relay-events.ts';
import type { ResolvedRelayOptions } from './relay-options.ts';
import type { RelayStatements } from './relay-sql.ts';

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

interface Failure {
  event: OutboxEvent;
  error: unknown;
  dead: boolean;
  delayMs: number;
}

function toEvent(row: EventRow): OutboxEvent {
  return {
    id: row.id,
    topic: row.topic,
    key: row.key,
    payload: row.payload,
    headers: row.headers,
    createdAt: row.created_at,
    attempts: row.attempts,
    position: row.position,
  };
}

/** The claimed events per key, each run in position order (the claim returns them so). */
function runsByKey(rows: EventRow[]): Map<string, OutboxEvent[]> {
  const byKey = new Map<string, OutboxEvent[]>();
  for (const row of rows) {
    const event = toEvent(row);
    const run = byKey.get(row.key);
    if (run) run.push(event);
    else byKey.set(row.key, [event]);
  }
  return byKey;
}

/** Attempt n of an event waits `min(maxMs, initialMs * 2^(n-1))` ±20 %, so retries of a burst spread out. */
function retryDelayMs(attempts: number, backoff: ResolvedRelayOptions['backoff']): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempts - 1));
  return base * (0.8 + Math.random() * 0.4);
}

/** Kept short: it is stored in the row, once per failed attempt. */
function errorText(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);
}

/**
 * The claim-publish-mark cycle: one transaction claims a batch, publishes it (keys in parallel,
 * each key's events in order), records every outcome in one statement and commits; the listeners
 * hear about it only after the commit, when it is true.
 */
export function createBatchRunner(
  options: ResolvedRelayOptions,
  statements: RelayStatements,
  planner: ClaimPlanner,
  events: RelayEmitter,
): () => Promise<BatchResult> {
  const { pool, publish, batchSize, publishTimeoutMs, maxAttempts, backoff, tracing } = options;

  const publishInTime = (event: OutboxEvent): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      Promise.resolve().then(() => publish(event)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new PublishTimeoutError(event.id, publishTimeoutMs)), publishTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  // The span covers the timeout too: a publish that hangs ends its span when it is given up on.
  const publishWithTimeout = tracing
    ? (event: OutboxEvent): Promise<unknown> => tracing.send(event, publishInTime)
    : publishInTime;

  const publishRun = async (run: OutboxEvent[], delivered: OutboxEvent[], failures: Failure[]) => {
    for (const event of run) {
      try {
        await publishWithTimeout(event);
        delivered.push(event);
      } catch (error) {
        const attempts = event.attempts + 1;
        failures.push({ event, error, dead: attempts >= maxAttempts, delayMs: retryDelayMs(attempts, backoff) });
        // The rest of this key waits behind the failed event.
        return;
      }
    }
  };

  return async function runOnce(): Promise<BatchResult> {
    const client = await pool.connect();
    const unguard = guardConnection(client);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<EventRow>(planner.claimSql, [batchSize]);
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { claimed: 0, delivered: 0, failed: 0 };
      }
      const byKey = runsByKey(rows);
      planner.observe(rows.length, byKey.size);
      const delivered: OutboxEvent[] = [];
      const failures: Failure[] = [];
      await Promise.all([...byKey.values()].map((run) => publishRun(run, delivered, failures)));
      const marked = [
        ...delivered.map((event) => ({ event, ok: true, dead: false, error: null as string | null, delayMs: 0 })),
        ...failures.map(({ event, error, dead, delayMs }) => ({
          event,
          ok: false,
          dead,
          error: errorText(error),
          delayMs,
        })),
      ];
      const { rows: updated } = await client.query<{ position: string; next_attempt_at: Date }>(statements.mark, [
        marked.map((m) => m.event.position),
        marked.map((m) => m.ok),
        marked.map((m) => m.dead),
        marked.map((m) => m.error),
        marked.map((m) => m.delayMs),
      ]);
      await client.query('COMMIT');
      const nextAt = new Map(updated.map((row) => [row.position, row.next_attempt_at]));
      for (const event of delivered) events.emit('delivered', event);
      for (const { event, error, dead } of failures) {
        events.emit('failed', {
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
  };
}
