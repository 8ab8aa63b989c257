import { AsyncLocalStorage } from 'node:async_hooks';
import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import {
  CommitOutcomeUnknownError,
  ConcurrentSavepointError,
  RetriesExhaustedError,
  TransactionAbortedError,
  TransactionClosedError,
  TransactionTimeoutError,
} from './errors.ts';

/** What `withTransaction` needs of a pool: a `pg.Pool` (or anything whose `connect` hands out a `pg.PoolClient`). */
export interface TransactionPool {
  connect(): Promise<PoolClient>;
}

/** SQL isolation levels, as written after `BEGIN ISOLATION LEVEL`. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/** When a hook threw: after a commit or after a rollback. */
export type HookPhase = 'afterCommit' | 'afterRollback';

/** Options of {@link withTransaction}. Only the outermost call uses them; nested calls become savepoints. */
export interface TransactionOptions {
  /** `BEGIN ISOLATION LEVEL ...`. @default the server's default (normally 'read committed') */
  isolation?: IsolationLevel;
  /** `READ ONLY`. @default false */
  readOnly?: boolean;
  /** `DEFERRABLE` (useful with `serializable` + `readOnly`: never fails, may wait). @default false */
  deferrable?: boolean;
  /**
   * How many times the whole callback is run again after a serialization failure (`40001`) or a
   * deadlock (`40P01`), including when one surfaces at COMMIT. `0` disables retrying.
   * @default 3
   */
  retries?: number;
  /**
   * Jittered exponential backoff between attempts: attempt n waits a random time in
   * `[0, min(maxMs, initialMs * 2^(n-1))]` ms ("full jitter").
   * @default { initialMs: 5, maxMs: 500 }
   */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Upper bound for the whole transaction, in ms. Every statement runs under
   * `SET LOCAL statement_timeout = timeoutMs`; when the deadline passes, the transaction is rolled
   * back, further `tx.query` calls reject, and the caller gets a {@link TransactionTimeoutError}.
   * Not retried. @default none
   */
  timeoutMs?: number;
  /** Called before each retry (monitoring). `attempt` is the attempt that failed, from 1. */
  onRetry?: (error: unknown, attempt: number) => void;
  /**
   * Receives errors thrown by `afterCommit` / `afterRollback` hooks: they never reach the caller
   * (its transaction already has its outcome). @default `process.emitWarning`
   */
  onHookError?: (error: unknown, phase: HookPhase) => void;
}

/** A hook run once the transaction's outcome is known; it may be async (it is awaited). */
export type TransactionHook = () => unknown;

/**
 * A transaction (or a savepoint inside one) on a single pooled connection. Pass it explicitly to
 * the code that must take part in it.
 */
export interface Transaction {
  /** Runs a statement on the transaction's connection; same arguments and result as `pg`'s `client.query`. */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  query<R extends QueryResultRow = QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>>;
  /**
   * Runs `fn` inside `SAVEPOINT`: on success `RELEASE`, on error `ROLLBACK TO SAVEPOINT` (the
   * outer work is kept) and the error is rethrown unchanged. Savepoints nest; open one at a time
   * per level.
   */
  savepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * Runs `hook` after the outermost transaction commits. A hook registered in a savepoint that
   * rolls back is dropped. Errors go to `onHookError`, never to the caller.
   */
  afterCommit(hook: TransactionHook): void;
  /**
   * Runs `hook` after the work it belongs to is rolled back: the whole transaction (also each
   * failed attempt before a retry), or the savepoint it was registered in (then once the
   * outermost transaction has ended, whatever its outcome).
   */
  afterRollback(hook: TransactionHook): void;
  /** The raw `pg` client, for APIs that need one (COPY streams, cursors). Never run BEGIN/COMMIT on it. */
  readonly client: PoolClient;
  /** 0 for the transaction itself, 1 for a savepoint in it, and so on. */
  readonly depth: number;
  /** Which attempt of the outermost transaction this is, from 1. */
  readonly attempt: number;
  /** Aborted when the transaction times out: pass it to work that should stop then. */
  readonly signal: AbortSignal;
}

const BRAND = Symbol.for('@switchboard/tx.transaction');
const RETRIABLE = new Set(['40001', '40P01']);
const ISOLATIONS = new Set<string>(['read uncommitted', 'read committed', 'repeatable read', 'serializable']);

interface ResolvedOptions {
  beginSql: string;
  retries: number;
  initialMs: number;
  maxMs: number;
  timeoutMs: number | undefined;
  onRetry: ((error: unknown, attempt: number) => void) | undefined;
  onHookError: (error: unknown, phase: HookPhase) => void;
}

const defaultHookError = (error: unknown, phase: HookPhase) => {
  const warning = error instanceof Error ? error : new Error(String(error));
  process.emitWarning(warning, { type: 'TransactionHookWarning', detail: `thrown by an ${phase} hook` });
};

const resolvedCache = new WeakMap<TransactionOptions, ResolvedOptions>();
const DEFAULTS = resolve({});

function resolve(options: TransactionOptions): ResolvedOptions {
  const { isolation, readOnly = false, deferrable = false, retries = 3, timeoutMs } = options;
  if (isolation !== undefined && !ISOLATIONS.has(isolation)) {
    throw new TypeError(`isolation must be one of ${[...ISOLATIONS].join(', ')}; got ${String(isolation)}`);
  }
  if (!Number.isInteger(retries) || retries < 0) throw new TypeError('retries must be an integer >= 0');
  const initialMs = options.backoff?.initialMs ?? 5;
  const maxMs = options.backoff?.maxMs ?? 500;
  if (!(initialMs >= 0) || !(maxMs >= initialMs)) throw new TypeError('backoff needs 0 <= initialMs <= maxMs');
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new TypeError('timeoutMs must be a positive integer');
  }
  let beginSql = 'BEGIN';
  if (isolation) beginSql += ` ISOLATION LEVEL ${isolation.toUpperCase()}`;
  if (readOnly) beginSql += ' READ ONLY';
  if (deferrable) beginSql += ' DEFERRABLE';
  // One round trip: the simple query protocol accepts several statements.
  if (timeoutMs !== undefined) beginSql += `; SET LOCAL statement_timeout = ${timeoutMs}`;
  return {
    beginSql,
    retries,
    initialMs,
    maxMs,
    timeoutMs,
    onRetry: options.onRetry,
    onHookError: options.onHookError ?? defaultHookError,
  };
}

function resolveOnce(options: TransactionOptions | undefined): ResolvedOptions {
  if (!options) return DEFAULTS;
  let resolved = resolvedCache.get(options);
  if (!resolved) {
    resolved = resolve(options);
    resolvedCache.set(options, resolved);
  }
  return resolved;
}

function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True when `value` is a transaction object of this package (also across duplicate installs). */
export function isTransaction(value: unknown): value is Transaction {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** State shared by every level of one attempt of an outermost transaction. */
class Attempt {
  savepoints = 0;
  /** The first serialization failure / deadlock seen: the transaction is doomed and will be retried. */
  doomed: unknown;
  timedOut = false;
  /** A `ROLLBACK TO SAVEPOINT` failed (broken connection): the transaction must not commit. */
  poisoned: unknown;
  /** afterRollback hooks of savepoints that rolled back: run once the transaction ends. */
  readonly orphanedRollbackHooks: TransactionHook[] = [];
  readonly controller = new AbortController();

  constructor(
    readonly client: PoolClient,
    readonly pool: TransactionPool,
    readonly number: number,
    readonly options: ResolvedOptions,
    readonly storage: AsyncLocalStorage<Level> | undefined,
  ) {}
}

class Level implements Transaction {
  readonly [BRAND] = true;
  closed = false;
  savepointOpen = false;
  readonly commitHooks: TransactionHook[] = [];
  readonly rollbackHooks: TransactionHook[] = [];

  constructor(
    readonly attemptState: Attempt,
    readonly depth: number,
  ) {}

  get client(): PoolClient {
    return this.attemptState.client;
  }

  get attempt(): number {
    return this.attemptState.number;
  }

  get signal(): AbortSignal {
    return this.attemptState.controller.signal;
  }

  query<R extends QueryResultRow = QueryResultRow>(
    textOrConfig: string | QueryConfig,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    const state = this.attemptState;
    if (state.timedOut) return Promise.reject(new TransactionTimeoutError(state.options.timeoutMs ?? 0));
    if (this.closed) return Promise.reject(new TransactionClosedError());
    const pending =
      typeof textOrConfig === 'string'
        ? state.client.query<R>(textOrConfig, values)
        : state.client.query<R>(textOrConfig as QueryConfig);
    return pending.catch((error: unknown) => {
      if (state.doomed === undefined && RETRIABLE.has(sqlStateOf(error) ?? '')) state.doomed = error;
      throw error;
    });
  }

  afterCommit(hook: TransactionHook): void {
    if (typeof hook !== 'function') throw new TypeError('afterCommit needs a function');
    if (this.closed) throw new TransactionClosedError();
    this.commitHooks.push(hook);
  }

  afterRollback(hook: TransactionHook): void {
    if (typeof hook !== 'function') throw new TypeError('afterRollback needs a function');
    if (this.closed) throw new TransactionClosedError();
    this.rollbackHooks.push(hook);
  }

  async savepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.closed) throw new TransactionClosedError();
    if (this.savepointOpen) throw new ConcurrentSavepointError();
    const state = this.attemptState;
    const name = `switchboard_sp_${++state.savepoints}`;
    this.savepointOpen = true;
    try {
      await this.query(`SAVEPOINT ${name}`);
      const child = new Level(state, this.depth + 1);
      let result: T;
      try {
        result = await (state.storage ? state.storage.run(child, fn, child) : fn(child));
        if (state.doomed !== undefined) throw state.doomed;
        await this.query(`RELEASE SAVEPOINT ${name}`);
      } catch (error) {
        child.closed = true;
        // A doomed or timed-out transaction is rolled back as a whole by the outermost level.
        if (state.doomed === undefined && !state.timedOut) {
          try {
            await this.query(`ROLLBACK TO SAVEPOINT ${name}`);
          } catch (rollbackError) {
            // The caller gets the error that failed the savepoint; the outermost level refuses to commit.
            state.poisoned ??= rollbackError;
          }
        }
        state.orphanedRollbackHooks.push(...child.rollbackHooks);
        throw error;
      }
      child.closed = true;
      this.commitHooks.push(...child.commitHooks);
      this.rollbackHooks.push(...child.rollbackHooks);
      return result;
    } finally {
      this.savepointOpen = false;
    }
  }
}

/**
 * A checked-out `pg` client emits 'error' when its connection dies, and an unhandled 'error' event
 * would crash the process; the failing query rejects anyway, so the event itself is ignored.
 */
export function guardConnection(client: PoolClient): () => void {
  const ignore = () => {};
  client.on('error', ignore);
  return () => client.removeListener('error', ignore);
}

function isStatementTimeout(error: unknown): boolean {
  return sqlStateOf(error) === '57014' && /statement timeout/.test((error as Error).message ?? '');
}

type AttemptOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; error: unknown; retriable: string | undefined; hooksToRun: TransactionHook[] };

async function runHooks(hooks: TransactionHook[], phase: HookPhase, options: ResolvedOptions): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook();
    } catch (error) {
      try {
        options.onHookError(error, phase);
      } catch {
        // A throwing error reporter must not turn a finished transaction into a failure.
      }
    }
  }
}

async function runAttempt<T>(
  pool: TransactionPool,
  fn: (tx: Transaction) => Promise<T>,
  options: ResolvedOptions,
  number: number,
  storage: AsyncLocalStorage<Level> | undefined,
): Promise<AttemptOutcome<T>> {
  const startedAt = performance.now();
  const client = await pool.connect();
  const unguard = guardConnection(client);
  const state = new Attempt(client, pool, number, options, storage);
  const top = new Level(state, 0);
  let timer: NodeJS.Timeout | undefined;
  let broken: Error | undefined;
  let stage: 'begin' | 'body' | 'commit' = 'begin';
  try {
    await client.query(options.beginSql);
    stage = 'body';
    const body = storage ? storage.run(top, fn, top) : fn(top);
    let value: T;
    if (options.timeoutMs === undefined) {
      value = await body;
    } else {
      const timeoutMs = options.timeoutMs;
      // The callback keeps running in the background after a timeout: its failures are expected.
      Promise.resolve(body).catch(() => {});
      value = await Promise.race([
        body,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            state.timedOut = true;
            state.controller.abort(new TransactionTimeoutError(timeoutMs));
            reject(new TransactionTimeoutError(timeoutMs));
          }, timeoutMs);
        }),
      ]);
    }
    if (state.doomed !== undefined) throw state.doomed;
    if (state.poisoned !== undefined) throw state.poisoned;
    top.closed = true;
    stage = 'commit';
    let result: QueryResult;
    try {
      result = await client.query('COMMIT');
    } catch (error) {
      if (sqlStateOf(error) === undefined) {
        broken = error instanceof Error ? error : new Error(String(error));
        throw new CommitOutcomeUnknownError(error);
      }
      throw error;
    }
    // COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK.
    if (result.command === 'ROLLBACK') {
      stage = 'body';
      throw new TransactionAbortedError();
    }
    clearTimeout(timer);
    unguard();
    client.release();
    await runHooks([...top.commitHooks, ...state.orphanedRollbackHooks], 'afterCommit', options);
    return { ok: true, value };
  } catch (error) {
    clearTimeout(timer);
    top.closed = true;
    if (error instanceof CommitOutcomeUnknownError) {
      unguard();
      client.release(broken);
      return { ok: false, error, retriable: undefined, hooksToRun: [] };
    }
    // After a failed COMMIT the server has already ended the transaction; ROLLBACK is harmless then.
    if (stage !== 'begin' || sqlStateOf(error) !== undefined) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
    } else {
      broken = error instanceof Error ? error : new Error(String(error));
    }
    // A broken connection is handed back with the error so the pool discards it.
    unguard();
    client.release(broken);
    const doomedBy = state.doomed ?? (RETRIABLE.has(sqlStateOf(error) ?? '') ? error : undefined);
    let surfaced = error;
    // Our statement_timeout may fire before the timer does: the same timeout, reported alike (a
    // lower statement_timeout the callback set itself fires earlier and stays a plain pg error).
    if (
      options.timeoutMs !== undefined &&
      isStatementTimeout(error) &&
      performance.now() - startedAt >= options.timeoutMs
    ) {
      state.timedOut = true;
      state.controller.abort(new TransactionTimeoutError(options.timeoutMs, { cause: error }));
    }
    if (state.timedOut && !(error instanceof TransactionTimeoutError)) {
      surfaced = new TransactionTimeoutError(options.timeoutMs ?? 0, { cause: error });
    }
    return {
      ok: false,
      error: doomedBy !== undefined && !state.timedOut ? doomedBy : surfaced,
      retriable: doomedBy !== undefined && !state.timedOut ? sqlStateOf(doomedBy) : undefined,
      hooksToRun: [...top.rollbackHooks, ...state.orphanedRollbackHooks],
    };
  }
}

async function runOutermost<T>(
  pool: TransactionPool,
  fn: (tx: Transaction) => Promise<T>,
  options: ResolvedOptions,
  storage: AsyncLocalStorage<Level> | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await runAttempt(pool, fn, options, attempt, storage);
    if (outcome.ok) return outcome.value;
    await runHooks(outcome.hooksToRun, 'afterRollback', options);
    if (outcome.retriable === undefined) throw outcome.error;
    if (attempt > options.retries) throw new RetriesExhaustedError(attempt, outcome.retriable, outcome.error);
    options.onRetry?.(outcome.error, attempt);
    const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** (attempt - 1));
    const delay = Math.random() * ceiling;
    if (delay >= 1) await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function checkArguments(poolOrTx: unknown, fn: unknown): void {
  if (typeof fn !== 'function') throw new TypeError('withTransaction needs a callback');
  if (!isTransaction(poolOrTx) && typeof (poolOrTx as TransactionPool | null)?.connect !== 'function') {
    throw new TypeError('withTransaction needs a pg.Pool (or a transaction to nest in)');
  }
}

/**
 * Runs `fn` in a transaction on one connection of `pool`: BEGIN, your statements, COMMIT; on an
 * error ROLLBACK and the error is rethrown unchanged (the same object). The connection is always
 * released (and discarded by the pool if it broke). A serialization failure (`40001`) or deadlock
 * (`40P01`), also at COMMIT, reruns the whole callback after a jittered backoff, up to `retries`
 * times; then {@link RetriesExhaustedError}. Keep side effects that must happen once out of the
 * callback: register them with `tx.afterCommit`.
 *
 * Given a transaction instead of a pool, runs `fn` in a savepoint of it (options are ignored
 * there: only the outermost level decides isolation, timeout and retries).
 *
 * @example
 * const total = await withTransaction(pool, async (tx) => {
 *   await tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [id]);
 *   tx.afterCommit(() => metrics.increment('counter'));
 *   return (await tx.query<{ n: number }>('SELECT n FROM counters WHERE id = $1', [id])).rows[0]?.n;
 * }, { isolation: 'serializable', retries: 10 });
 */
export function withTransaction<T>(
  poolOrTx: TransactionPool | Transaction,
  fn: (tx: Transaction) => Promise<T>,
  options?: TransactionOptions,
): Promise<T> {
  try {
    checkArguments(poolOrTx, fn);
    if (isTransaction(poolOrTx)) return poolOrTx.savepoint(fn);
    return runOutermost(poolOrTx, fn, resolveOnce(options), undefined);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Ambient transactions, opt-in: inside `context.withTransaction(pool, fn)`, code that calls
 * `context.withTransaction(pool, ...)` again (with the same pool) joins the running transaction as
 * a savepoint instead of opening a second connection, and `context.current()` returns the
 * innermost open transaction. Built on AsyncLocalStorage.
 */
export interface TransactionContext {
  /**
   * Like {@link withTransaction}; joins the ambient transaction (as a savepoint) when one is open
   * on the same pool, otherwise starts a new one that becomes ambient inside `fn`.
   */
  withTransaction<T>(
    poolOrTx: TransactionPool | Transaction,
    fn: (tx: Transaction) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>;
  /** The innermost open transaction of this context in the current async flow, if any. */
  current(): Transaction | undefined;
}

/**
 * Creates an ambient transaction context. Explicit `tx` passing stays the default of this package;
 * use a context where threading `tx` through layers you do not own is impractical.
 *
 * @example
 * const transactions = createTransactionContext();
 * await transactions.withTransaction(pool, async () => {
 *   await repository.save(user); // calls transactions.withTransaction(pool, ...) itself: joins
 * });
 */
export function createTransactionContext(): TransactionContext {
  const storage = new AsyncLocalStorage<Level>();
  const current = (): Level | undefined => {
    const level = storage.getStore();
    // A finished savepoint or transaction is no longer ambient (e.g. in work it left running).
    return level?.closed ? undefined : level;
  };
  return {
    withTransaction<T>(
      poolOrTx: TransactionPool | Transaction,
      fn: (tx: Transaction) => Promise<T>,
      options?: TransactionOptions,
    ): Promise<T> {
      try {
        checkArguments(poolOrTx, fn);
        if (isTransaction(poolOrTx)) {
          return poolOrTx.savepoint((tx) => storage.run(tx as Level, fn, tx));
        }
        const ambient = current();
        if (ambient && ambient.attemptState.pool === poolOrTx) {
          return ambient.savepoint((tx) => storage.run(tx as Level, fn, tx));
        }
        return runOutermost(poolOrTx, fn, resolveOnce(options), storage);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    current,
  };
}
