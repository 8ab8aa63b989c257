import { TurnBatches } from '@switchboard/hot-path';
import { KIND_CODE } from '../algorithms/lua-script.ts';
import { StoreUnavailableError } from '../errors.ts';
import type { Decision, EvaluateMode, StoreEntry } from '../types.ts';
import type { SendBatch } from './redis-consume-batch.ts';

/**
 * The most checks one script run decides: Redis runs a script alone, so a batch must stay short
 * (every other client waits while it runs).
 */
const MAX_CHECKS_PER_BATCH = 64;

/**
 * A turn with more checks than this is sent as two batches or more: while Redis runs one, the
 * client encodes the next or reads the answers of the previous, instead of one of them idling.
 */
const SPLIT_ABOVE = 16;

/** How many checks go into each batch of a turn with `checks` checks. */
function chunkSize(checks: number): number {
  if (checks <= SPLIT_ABOVE) return checks;
  const batches = Math.max(2, Math.ceil(checks / MAX_CHECKS_PER_BATCH));
  return Math.ceil(checks / batches);
}

interface Check {
  mode: EvaluateMode;
  entries: readonly StoreEntry[];
  resolve: (decisions: Decision[]) => void;
  reject: (error: unknown) => void;
  /** On a Redis Cluster, the slot of the check's keys. */
  slot: number;
}

/** The general-script checks of one turn, and how many entries they hold. */
interface TurnOfChecks {
  readonly checks: Check[];
  entries: number;
  /**
   * Whether the checks may lie in different slots of one node: only the first check's keys are
   * declared, the others ride at the end of ARGV (cluster-node-batches.ts in the hot-path kit).
   */
  acrossSlots: boolean;
}

/**
 * Gathers the checks of one event-loop turn that go through the general script (every
 * algorithm and mode, multi-limit checks) and sends them together at the end of the turn
 * (`TurnBatches`): one EVALSHA per batch of up to 64 entries, two batches or more when the turn
 * has more than 16. Each check stays all-or-nothing and is decided in order; a check whose state
 * Redis cannot read (written by something else) fails alone. No deadline here: the limiter
 * bounds each call.
 */
export function createCheckBatcher(
  send: SendBatch,
  /** Pushes an entry's state key, then its block key (the store's key format). */
  pushKeys: (keys: string[], entry: StoreEntry) => void,
  /** On a Redis Cluster, the slot of a check's keys; else undefined. */
  slotOf?: (entry: StoreEntry) => number,
  /** On a Redis Cluster, the node of a slot per the client's table (a batch holds one node's checks). */
  nodeOfSlot?: (slot: number) => string | undefined,
) {
  const flush = ({ checks, entries: total, acrossSlots }: TurnOfChecks) => {
    const perBatch = chunkSize(total);
    let from = 0;
    let size = 0;
    for (let i = 0; i < checks.length; i++) {
      size += (checks[i] as Check).entries.length;
      // A check is never split; a batch closes once it holds its share of entries.
      if (size >= perBatch || i === checks.length - 1) {
        dispatch(checks.slice(from, i + 1), acrossSlots);
        from = i + 1;
        size = 0;
      }
    }
  };

  const dispatch = (checks: Check[], acrossSlots: boolean) => {
    let sent: Promise<unknown>;
    try {
      const keys: string[] = [];
      const values: (string | number)[] = [checks.length];
      for (const check of checks) {
        values.push(check.mode, check.entries.length);
        for (const entry of check.entries) {
          pushKeys(keys, entry);
          const [p1, p2, p3] = entry.algorithm.params;
          values.push(KIND_CODE[entry.algorithm.kind], entry.cost, entry.blockDurationMs, p1, p2, p3);
        }
      }
      if (acrossSlots) {
        // The first check's keys are declared (they route the command); the others follow the values.
        const declared = 2 * (checks[0] as Check).entries.length;
        sent = send([declared, ...keys.slice(0, declared), ...values, ...keys.slice(declared)]);
      } else sent = send([keys.length, ...keys, ...values]);
    } catch (error) {
      for (const check of checks) check.reject(error);
      return;
    }
    sent.then(
      (reply) => {
        if (!Array.isArray(reply) || reply.length !== checks.length) {
          const error = new Error(`unexpected reply from the rate-limit script for ${checks.length} checks`);
          for (const check of checks) check.reject(error);
          return;
        }
        for (const [index, check] of checks.entries()) answer(check, reply[index]);
      },
      (error: unknown) => {
        for (const check of checks) check.reject(error);
      },
    );
  };

  const answer = (check: Check, rows: unknown) => {
    if (rows === -1) {
      // Its node does not hold its keys (the slot table was stale): sent again, alone, to its slot.
      const turn = batchOfSlot(check.slot);
      turn.checks.push(check);
      turn.entries += check.entries.length;
      return;
    }
    if (!Array.isArray(rows)) {
      const keys = check.entries.map((entry) => entry.key).join(', ');
      check.reject(
        new StoreUnavailableError(`rate-limit state of ${keys} cannot be read: ${String(rows)}`, { keysOnly: true }),
      );
      return;
    }
    try {
      if (rows.length !== check.entries.length)
        throw new Error('rate-limit script answered the wrong number of entries');
      check.resolve(rows.map(toDecision));
    } catch (error) {
      check.reject(error);
    }
  };

  // Grouped by node on a cluster (the node's address), by slot when the node is not known yet.
  const batches = new TurnBatches<number | string, TurnOfChecks>({
    create: () => ({ checks: [], entries: 0, acrossSlots: false }),
    send: flush,
  });
  const batchOfSlot = (slot: number) => batches.batchFor(slot);
  const batchOf = (slot: number | undefined): TurnOfChecks => {
    if (slot === undefined) return batches.batchFor(0);
    const node = nodeOfSlot?.(slot);
    if (node === undefined) return batchOfSlot(slot);
    const turn = batches.batchFor(node);
    turn.acrossSlots = true;
    return turn;
  };

  return {
    check: (mode: EvaluateMode, entries: readonly StoreEntry[]): Promise<Decision[]> =>
      new Promise<Decision[]>((resolve, reject) => {
        // Every entry of a check shares its slot (the store's `assertAtomic`).
        const slot = slotOf ? slotOf(entries[0] as StoreEntry) : undefined;
        const turn = batchOf(slot);
        turn.checks.push({ mode, entries, resolve, reject, slot: slot ?? 0 });
        turn.entries += entries.length;
      }),
    /** Whether checks wait for the end of the turn, and sending them now (to keep call order). */
    batches,
  };
}

function toDecision(row: unknown): Decision {
  if (!Array.isArray(row) || row.length !== 4)
    throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(row)}`);
  return {
    allowed: row[0] === 1,
    remaining: Math.max(0, Number(row[1])),
    resetMs: Math.max(0, Number(row[2])),
    retryAfterMs: Math.max(0, Number(row[3])),
  };
}
