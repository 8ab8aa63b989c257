import { settle, startDeadline, TurnBatches } from '@switchboard/hot-path';
import { storeTimeout } from '../bind-store.ts';
import type { RateLimitResult, StoreBindOptions } from '../types.ts';

/** Sends a batch script with these arguments (numKeys, keys..., args...). */
export type SendBatch = (args: readonly (string | number)[]) => Promise<unknown>;

/**
 * A batch is sent as soon as it holds this many checks, not only at the end of the turn: under
 * load a turn makes dozens of checks (every answer of a batch starts another), and the first of
 * them would otherwise wait for the last. Sent early, a batch runs in Redis while Node makes the
 * next one, and no check waits behind more than this many others in its script run (Redis runs a
 * script alone, so a run must stay short for every other client too).
 */
const SEND_AT = 32;

/** One limiter's share of a batch: the parameters its checks run with. */
interface Owner {
  /** limit, windowMs, blockMs: one parameter set of the script. */
  readonly params: readonly [number, number, number];
  readonly limit: number;
  readonly options: StoreBindOptions;
}

type Resolve = (result: RateLimitResult | Promise<RateLimitResult>) => void;

/** Checks of one turn with one timeout, at most `SEND_AT`: sent as one EVALSHA. */
class TurnChecks {
  readonly keys: string[] = [];
  readonly owners: Owner[] = [];
  readonly userKeys: string[] = [];
  readonly costs: number[] = [];
  readonly resolvers: Resolve[] = [];
  /** On a Redis Cluster, each check's slot (empty otherwise). */
  readonly slots: number[] = [];
  /** The batch's deadline: its limiters' timeout (batches are grouped by it). */
  timeoutMs = 0;
  /**
   * Whether the checks may lie in different slots of one node: only the first check's keys are
   * declared (they route the command), the others ride in ARGV (cluster-node-batches.ts in the hot-path kit).
   */
  acrossSlots = false;

  add(
    owner: Owner,
    stateKey: string,
    blockKey: string,
    userKey: string,
    cost: number,
    slot: number | undefined,
  ): Promise<RateLimitResult> {
    this.timeoutMs = owner.options.timeoutMs;
    this.keys.push(stateKey, blockKey);
    this.owners.push(owner);
    this.userKeys.push(userKey);
    this.costs.push(cost);
    if (slot !== undefined) this.slots.push(slot);
    return new Promise<RateLimitResult>((resolve) => {
      this.resolvers.push(resolve);
    });
  }

  /**
   * The script's arguments for checks `from` to `to` (exclusive): numKeys, the declared keys,
   * the number of checks, parameter sets, per check (set, cost), then the undeclared keys.
   */
  arguments(from: number, to: number): (string | number)[] {
    const { keys, owners, costs } = this;
    const declared = this.acrossSlots ? 1 : to - from;
    const args: (string | number)[] = [2 * declared];
    for (let i = 2 * from; i < 2 * (from + declared); i++) args.push(keys[i] as string);
    args.push(to - from);
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
    for (let i = 2 * (from + declared); i < 2 * to; i++) args.push(keys[i] as string);
    return args;
  }

  /**
   * Answers checks `from` to `to` from the script's reply; a check the node did not hold (flag
   * -1, only in a batch `acrossSlots`) is handed to `resend` and answered by that.
   */
  answer(reply: unknown, from: number, to: number, resend: Resend): void {
    const { owners, resolvers } = this;
    if (!Array.isArray(reply) || reply.length !== (to - from) * 3) {
      this.fail(new Error(`unexpected reply from the rate-limit script for ${to - from} checks`), from, to);
      return;
    }
    for (let i = from, at = 0; i < to; i++, at += 3) {
      const owner = owners[i] as Owner;
      if (reply[at] === -1) {
        const { keys } = this;
        (resolvers[i] as Resolve)(
          resend(
            owner,
            keys[2 * i] as string,
            keys[2 * i + 1] as string,
            this.userKeys[i] as string,
            this.costs[i] as number,
            this.slots[i] as number,
          ),
        );
        continue;
      }
      const allowed = reply[at] === 1;
      const resetMs = Number(reply[at + 2]);
      (resolvers[i] as Resolve)({
        allowed,
        limit: owner.limit,
        remaining: Number(reply[at + 1]),
        resetMs,
        retryAfterMs: allowed ? 0 : resetMs,
      });
      owner.options.answered();
    }
  }

  fail(error: unknown, from: number, to: number): void {
    const { owners, resolvers, userKeys, costs } = this;
    for (let i = from; i < to; i++) {
      let answer: Promise<RateLimitResult>;
      try {
        answer = (owners[i] as Owner).options.fail(error, userKeys[i] as string, costs[i] as number);
      } catch (hookError) {
        // Every check is answered, whatever a hook does.
        answer = Promise.reject(hookError);
      }
      (resolvers[i] as Resolve)(answer);
    }
  }
}

/** Sends one check again, alone in its slot: a batch's node did not hold it. */
type Resend = (
  owner: Owner,
  stateKey: string,
  blockKey: string,
  key: string,
  cost: number,
  slot: number,
) => Promise<RateLimitResult>;

/**
 * Gathers the fixed-window consumes of one event-loop turn (across limiters on this store) and
 * sends them as one EVALSHA at the end of the turn (`TurnBatches`, whose comment says why), or
 * earlier once `SEND_AT` are waiting: one command for the client to encode, write and parse and
 * for Redis to read and answer, instead of one per check. Each check is still decided and paid
 * atomically, alone, in the order it was made, and is still one round trip. A batch has one
 * deadline: the timeout of its limiters (limiters with other timeouts get batches of their own).
 *
 * On a Redis Cluster (`nodeOfSlot` given), a batch holds the checks of one node, whatever their
 * slots (cluster-node-batches.ts in the hot-path kit says how and why); a check whose node is not known yet gets a
 * batch of its slot.
 */
export function createConsumeBatcher(send: SendBatch, nodeOfSlot?: (slot: number) => string | undefined) {
  const dispatch = (checks: TurnChecks, from: number, to: number) => {
    let sent: Promise<unknown>;
    try {
      sent = send(checks.arguments(from, to));
    } catch (error) {
      checks.fail(error, from, to);
      return;
    }
    const deadline = startDeadline(checks.timeoutMs, (timeoutMs) => checks.fail(storeTimeout(timeoutMs), from, to));
    sent.then(
      (reply) => {
        if (settle(deadline)) checks.answer(reply, from, to, resend);
      },
      (error: unknown) => {
        if (settle(deadline)) checks.fail(error, from, to);
      },
    );
  };

  // Grouped by timeout; on a cluster by node (`${timeoutMs}@${node}`) or, when the node is not
  // known, by slot (`${timeoutMs}#${slot}`): one script's declared keys must share a slot.
  const batches = new TurnBatches<number | string, TurnChecks>({
    create: () => new TurnChecks(),
    send: (checks) => dispatch(checks, 0, checks.owners.length),
  });

  const add = (
    checks: TurnChecks,
    owner: Owner,
    stateKey: string,
    blockKey: string,
    key: string,
    cost: number,
    slot: number | undefined,
  ) => {
    const answer = checks.add(owner, stateKey, blockKey, key, cost, slot);
    if (checks.owners.length >= SEND_AT) batches.flush();
    return answer;
  };

  const resend: Resend = (owner, stateKey, blockKey, key, cost, slot) =>
    add(batches.batchFor(`${owner.options.timeoutMs}#${slot}`), owner, stateKey, blockKey, key, cost, slot);

  return {
    /**
     * The batched consume of one bound limiter: a check of `cost` on the user's `key`, whose
     * state and block live at `stateKey` and `blockKey` (the store's key format), in `slot` on a
     * Redis Cluster (undefined otherwise).
     */
    consumer(
      params: readonly [number, number, number],
      limit: number,
      options: StoreBindOptions,
    ): (stateKey: string, blockKey: string, key: string, cost: number, slot?: number) => Promise<RateLimitResult> {
      const owner: Owner = { params, limit, options };
      const { timeoutMs } = options;
      return (stateKey, blockKey, key, cost, slot) => {
        if (slot === undefined) return add(batches.batchFor(timeoutMs), owner, stateKey, blockKey, key, cost, slot);
        const node = nodeOfSlot?.(slot);
        if (node === undefined) return resend(owner, stateKey, blockKey, key, cost, slot);
        const checks = batches.batchFor(`${timeoutMs}@${node}`);
        checks.acrossSlots = true;
        return add(checks, owner, stateKey, blockKey, key, cost, slot);
      };
    },
    /** Whether checks wait for the end of the turn, and sending them now (to keep call order). */
    batches,
  };
}
