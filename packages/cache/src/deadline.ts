interface Waiting {
  deadline: number;
  settled: boolean;
  reject: (error: Error) => void;
  timeoutMs: number;
}

const waiting = new Set<Waiting>();
let ticker: NodeJS.Timeout | undefined;
const TICK_MS = 10;

/**
 * Rejects if `promise` has not settled within `timeoutMs` (±10 ms). A shared 10 ms ticker
 * checks every pending call, instead of a timer per L2 call: timers are the largest allocation
 * on a path that runs for every L1 miss.
 */
export function withinDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  if (!Number.isFinite(timeoutMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const entry: Waiting = { deadline: performance.now() + timeoutMs, settled: false, reject, timeoutMs };
    waiting.add(entry);
    if (!ticker) {
      ticker = setInterval(expireOverdue, TICK_MS);
      ticker.unref();
    }
    promise.then(
      (value) => {
        if (entry.settled) return;
        entry.settled = true;
        waiting.delete(entry);
        resolve(value);
      },
      (error: unknown) => {
        if (entry.settled) return;
        entry.settled = true;
        waiting.delete(entry);
        reject(error);
      },
    );
  });
}

function expireOverdue(): void {
  const now = performance.now();
  for (const entry of waiting) {
    if (entry.deadline > now) continue;
    entry.settled = true;
    waiting.delete(entry);
    entry.reject(new Error(`L2 did not answer within ${entry.timeoutMs} ms`));
  }
  if (waiting.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}
