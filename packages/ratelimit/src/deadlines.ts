import { StoreTimeoutError } from './errors.ts';

/** A call under a deadline: `settle` it when it answers; past its deadline it times out instead. */
export interface Deadline {
  deadline: number;
  timeoutMs: number;
  settled: boolean;
  onTimeout: (error: StoreTimeoutError) => void;
}

const pending = new Set<Deadline>();
let ticker: NodeJS.Timeout | undefined;
// How often deadlines are checked: a check may run up to this much past its timeout.
const TICK_MS = 10;

/**
 * Calls `onTimeout` with a `StoreTimeoutError` unless `settle` is called within `timeoutMs`
 * (±10 ms). One shared ticker instead of a timer per call: at 100k checks/s, creating and
 * clearing a timer per check costs more than the check's own logic.
 */
export function startDeadline(timeoutMs: number, onTimeout: (error: StoreTimeoutError) => void): Deadline {
  const entry: Deadline = { deadline: performance.now() + timeoutMs, timeoutMs, settled: false, onTimeout };
  pending.add(entry);
  if (!ticker) {
    ticker = setInterval(expire, TICK_MS);
    ticker.unref();
  }
  return entry;
}

/** True the first time, if the deadline has not passed: the caller answers; false: it was already answered. */
export function settle(entry: Deadline): boolean {
  if (entry.settled) return false;
  entry.settled = true;
  pending.delete(entry);
  return true;
}

/** Rejects with `StoreTimeoutError` if `source` has not settled within `timeoutMs` (±10 ms). */
export function withDeadline<T>(source: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry = startDeadline(timeoutMs, reject);
    source.then(
      (value) => {
        if (settle(entry)) resolve(value);
      },
      (error: unknown) => {
        if (settle(entry)) reject(error);
      },
    );
  });
}

function expire(): void {
  const now = performance.now();
  for (const entry of pending) {
    if (entry.deadline > now) continue;
    entry.settled = true;
    pending.delete(entry);
    entry.onTimeout(new StoreTimeoutError(entry.timeoutMs));
  }
  if (pending.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}
