import { settle, startDeadline } from '../deadlines.ts';
import type { RateLimitResult } from '../types.ts';
import type { RedisConsumeHooks } from './fast-paths.ts';

/** Sends the fixed-window batch script with these arguments (numKeys, keys..., args...). */
export type SendBatch = (args: (string | number)[]) => Promise<unknown>;

/**
 * The most checks one script run decides: Redis runs a script alone, so a batch must stay short
 * (every other client waits while it runs).
 */
export const MAX_CHECKS_PER_BATCH = 64;

/**
 * A turn with more checks than this is sent as two batches or more: while Redis runs one, the
 * client encodes the next or reads the answers of the previous, instead of one of them idling.
 */
export const SPLIT_ABOVE = 16;

/** How many checks go into each batch of a turn with `checks` checks. */
export function chunkSize(checks: number): number {
  if (checks <= SPLIT_ABOVE) return checks;
  const batches = Math.max(2, Math.ceil(checks / MAX_CHECKS_PER_BATCH));
  return Math.ceil(checks / batches);
}

/** One limiter's share of a batch: the parameters its checks run with. */
interface Owner {
  /** limit, windowMs, blockMs: one parameter set of the script. */
  readonly params: readonly [number, number, number];
  readonly limit: number;
  readonly hooks: RedisConsumeHooks;
}

type Resolve = (result: RateLimitResult | Promise<RateLimitResult>) => void;

/** The checks of one turn with one timeout; sent as one EVALSHA per chunk. */
class TurnChecks {
  readonly keys: string[] = [];
  readonly owners: Owner[] = [];
  readonly encodedKeys: string[] = [];
  readonly costs: number[] = [];
  readonly resolvers: Resolve[] = [];

  constructor(readonly timeoutMs: number) {}

  add(owner: Owner, stateKey: string, blockKey: string, encodedKey: string, cost: number): Promise<RateLimitResult> {
    this.keys.push(stateKey, blockKey);
    this.owners.push(owner);
    this.encodedKeys.push(encodedKey);
    this.costs.push(cost);
    return new Promise<RateLimitResult>((resolve) => {
      this.resolvers.push(resolve);
    });
  }

  /** The script's arguments for checks `from` to `to` (exclusive): numKeys, keys, sets, checks. */
  arguments(from: number, to: number): (string | number)[] {
    const { keys, owners, costs } = this;
    const args: (string | number)[] = [2 * (to - from)];
    for (let i = 2 * from; i < 2 * to; i++) args.push(keys[i] as string);
    // Parameter sets: one per distinct limiter among these checks (usually one).
    const sets: Owner[] = [];
    const checkArgs: number[] = [];
    let last: Owner | undefined;
    let lastSet = 0;
    for (let i = from; i < to; i++) {
      const owner = owners[i] as Owner;
      if (owner !== last) {
        lastSet = sets.indexOf(owner) + 1;
        if (lastSet === 0) lastSet = sets.push(owner);
        last = owner;
      }
      checkArgs.push(lastSet, costs[i] as number);
    }
    args.push(sets.length);
    for (const { params } of sets) args.push(params[0], params[1], params[2]);
    for (const value of checkArgs) args.push(value);
    return args;
  }

  answer(reply: unknown, from: number, to: number): void {
    const { owners, resolvers } = this;
    if (!Array.isArray(reply) || reply.length !== (to - from) * 3) {
      this.fail(new Error(`unexpected reply from the rate-limit script for ${to - from} checks`), from, to);
      return;
    }
    for (let i = from, at = 0; i < to; i++, at += 3) {
      const owner = owners[i] as Owner;
      const allowed = reply[at] === 1;
      const resetMs = Number(reply[at + 2]);
      (resolvers[i] as Resolve)({
        allowed,
        limit: owner.limit,
        remaining: Number(reply[at + 1]),
        resetMs,
        retryAfterMs: allowed ? 0 : resetMs,
      });
      owner.hooks.answered();
    }
  }

  fail(error: unknown, from: number, to: number): void {
    const { owners, resolvers, encodedKeys, costs } = this;
    for (let i = from; i < to; i++) {
      let answer: Promise<RateLimitResult>;
      try {
        answer = (owners[i] as Owner).hooks.failed(error, encodedKeys[i] as string, costs[i] as number);
      } catch (hookError) {
        // Every check is answered, whatever a hook does.
        answer = Promise.reject(hookError);
      }
      (resolvers[i] as Resolve)(answer);
    }
  }
}

/**
 * Gathers the fixed-window consumes of one event-loop turn (across limiters on this store) and
 * sends them as one EVALSHA at the end of the turn: one command for the client to encode, write
 * and parse and for Redis to read and answer, instead of one per check. Each check is still
 * decided and paid atomically, alone, in the order it was made, and is still one round trip;
 * batches are sent when the turn's own work is done, not after a timer. A batch has one
 * deadline: the timeout of its limiters (limiters with other timeouts get batches of their own).
 */
export function createConsumeBatcher(send: SendBatch) {
  let open: TurnChecks | undefined;
  let openByTimeout: Map<number, TurnChecks> | undefined;
  let scheduled: TurnChecks[] = [];

  const flush = () => {
    const turns = scheduled;
    scheduled = [];
    open = undefined;
    openByTimeout = undefined;
    for (const checks of turns) {
      const total = checks.owners.length;
      const size = chunkSize(total);
      for (let from = 0; from < total; from += size) dispatch(checks, from, Math.min(total, from + size));
    }
  };

  const dispatch = (checks: TurnChecks, from: number, to: number) => {
    let sent: Promise<unknown>;
    try {
      sent = send(checks.arguments(from, to));
    } catch (error) {
      checks.fail(error, from, to);
      return;
    }
    const deadline = startDeadline(checks.timeoutMs, (error) => checks.fail(error, from, to));
    sent.then(
      (reply) => {
        if (settle(deadline)) checks.answer(reply, from, to);
      },
      (error: unknown) => {
        if (settle(deadline)) checks.fail(error, from, to);
      },
    );
  };

  const checksFor = (timeoutMs: number): TurnChecks => {
    if (open !== undefined && open.timeoutMs === timeoutMs) return open;
    let checks = openByTimeout?.get(timeoutMs);
    if (checks === undefined) {
      checks = new TurnChecks(timeoutMs);
      if (scheduled.length === 0) process.nextTick(flush);
      scheduled.push(checks);
      if (open === undefined) open = checks;
      else {
        openByTimeout ??= new Map();
        openByTimeout.set(timeoutMs, checks);
      }
    }
    return checks;
  };

  return {
    /**
     * The batched consume of one limiter: a check of `cost` on the encoded `key`, whose state
     * and block live at `stateKey` and `blockKey` (the store's key format).
     */
    consumer(
      params: readonly [number, number, number],
      limit: number,
      hooks: RedisConsumeHooks,
    ): (stateKey: string, blockKey: string, key: string, cost: number) => Promise<RateLimitResult> {
      const owner: Owner = { params, limit, hooks };
      return (stateKey, blockKey, key, cost) => checksFor(hooks.timeoutMs).add(owner, stateKey, blockKey, key, cost);
    },
    /** Whether checks wait for the end of the turn. */
    hasPending: () => scheduled.length !== 0,
    /** Sends the waiting checks now (to keep call order with commands sent another way). */
    flushNow: flush,
  };
}
