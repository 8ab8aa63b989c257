/** A call under a deadline: `settle` it when it answers; past its deadline it times out instead. */
export interface Deadline {
  readonly deadline: number;
  readonly timeoutMs: number;
  settled: boolean;
  readonly onTimeout: (timeoutMs: number) => void;
}

const pending = new Set<Deadline>();
let ticker: NodeJS.Timeout | undefined;
// How often deadlines are checked: a call may time out up to this much after its timeout.
const TICK_MS = 10;

/**
 * Calls `onTimeout(timeoutMs)` unless `settle` is called within `timeoutMs` (±10 ms).
 *
 * One shared 10 ms ticker checks every pending call instead of a timer per call: on paths that
 * run tens of thousands of times a second (a rate-limit check, an L2 read), creating and
 * clearing a timer costs more than the work it guards, and timers are the largest allocation on
 * those paths. The ticker runs only while something is pending and never keeps the process alive.
 */
export function startDeadline(timeoutMs: number, onTimeout: (timeoutMs: number) => void): Deadline {
  const entry: Deadline = { deadline: performance.now() + timeoutMs, timeoutMs, settled: false, onTimeout };
  pending.add(entry);
  if (ticker === undefined) {
    ticker = setInterval(expireOverdue, TICK_MS);
    ticker.unref();
  }
  return entry;
}

/** True the first time, before the deadline passed: the caller answers. False: it was already answered (or timed out). */
export function settle(entry: Deadline): boolean {
  if (entry.settled) return false;
  entry.settled = true;
  pending.delete(entry);
  return true;
}

/**
 * `promise`, or a rejection with `timeoutError(timeoutMs)` if it has not settled within
 * `timeoutMs` (±10 ms). An infinite timeout returns `promise` itself.
 */
export function withinDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  timeoutError: (timeoutMs: number) => Error,
): Promise<T> {
  if (!Number.isFinite(timeoutMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const entry = startDeadline(timeoutMs, (ms) => reject(timeoutError(ms)));
    promise.then(
      (value) => {
        if (settle(entry)) resolve(value);
      },
      (error: unknown) => {
        if (settle(entry)) reject(error);
      },
    );
  });
}

function expireOverdue(): void {
  const now = performance.now();
  for (const entry of pending) {
    if (entry.deadline > now) continue;
    entry.settled = true;
    pending.delete(entry);
    entry.onTimeout(entry.timeoutMs);
  }
  if (pending.size === 0 && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}
