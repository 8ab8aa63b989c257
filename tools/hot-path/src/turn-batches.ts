const neverFull = () => false;

/** How a {@link TurnBatches} groups work and sends it. */
export interface TurnBatchesOptions<K, B> {
  /** A new, empty batch for work with this key. */
  create(key: K): B;
  /** Sends one batch; called once per batch when the turn ends (or on `flush()`). */
  send(batch: B): void;
  /** Whether a batch takes no more work: the next work with its key starts another batch. */
  isFull?(batch: B): boolean;
}

/**
 * Work started in one turn of the event loop, collected into batches that are sent together
 * when that turn ends. Why: a GraphQL request resolves many fields in the same turn, and a
 * server handles many requests per turn under load; one round trip (one MGET, one EVALSHA,
 * one look-up) for all of them costs a fraction of one each, while no call waits longer than
 * the rest of the turn it was made in.
 *
 * Batches are grouped by key (e.g. a timeout: work with different deadlines must not share a
 * batch). The common case, every call with the same key, takes no map look-up.
 *
 * `process.nextTick` rather than a microtask: it runs after the current operation's
 * synchronous code and before promise callbacks queued by it, so a batch leaves as soon as the
 * code that filled it returns, and never waits behind a chain of resolved promises.
 */
export class TurnBatches<K, B> {
  private readonly create: (key: K) => B;
  private readonly sendBatch: (batch: B) => void;
  private readonly isFull: (batch: B) => boolean;
  private scheduled: B[] = [];
  private open: B | undefined;
  private openKey: K | undefined;
  private others: Map<K, B> | undefined;
  private readonly flushBound = () => this.flush();

  constructor(options: TurnBatchesOptions<K, B>) {
    this.create = options.create;
    this.sendBatch = options.send;
    this.isFull = options.isFull ?? neverFull;
  }

  /** The batch that work with this key joins in the current turn (a new one if none is open or it is full). */
  batchFor(key: K): B {
    const open = this.open;
    if (open !== undefined && this.openKey === key) {
      if (!this.isFull(open)) return open;
      const next = this.start(key);
      this.open = next;
      return next;
    }
    if (open === undefined) {
      const first = this.start(key);
      this.open = first;
      this.openKey = key;
      return first;
    }
    this.others ??= new Map();
    let batch = this.others.get(key);
    if (batch === undefined || this.isFull(batch)) {
      batch = this.start(key);
      this.others.set(key, batch);
    }
    return batch;
  }

  /** Whether batches wait for the end of the turn. */
  get pending(): boolean {
    return this.scheduled.length !== 0;
  }

  /**
   * Sends every waiting batch now, in the order they were started. For callers that must keep
   * call order with work sent another way (a command after batched ones on one connection).
   */
  flush(): void {
    const batches = this.scheduled;
    if (batches.length === 0) return;
    this.scheduled = [];
    this.open = undefined;
    this.openKey = undefined;
    this.others = undefined;
    for (const batch of batches) this.sendBatch(batch);
  }

  private start(key: K): B {
    const batch = this.create(key);
    if (this.scheduled.length === 0) process.nextTick(this.flushBound);
    this.scheduled.push(batch);
    return batch;
  }
}
