import { StoreTimeoutError } from './errors.ts';

interface Pending {
  deadline: number;
  timeoutMs: number;
  settled: boolean;
  reject: (error: unknown) => void;
}

const pending = new Set<Pending>();
let ticker: NodeJS.Timeout | undefined;
// How often deadlines are checked: a check may run up to this much past its timeout.
const TICK_MS = 10;

/**
 * Rejects with `StoreTimeoutError` if `source` has not settled within `timeoutMs` (±10 ms).
 * One shared ticker instead of a timer per call: at 100k checks/s, creating and clearing a
 * timer per check costs more than the check's own logic.
 */
export function withDeadline<T>(source: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = { deadline: performance.now() + timeoutMs, timeoutMs, settled: false, reject };
    pending.add(entry);
    if (!ticker) {
      ticker = setInterval(expire, TICK_MS);
      ticker.unref();
    }
    source.then(
      (value) => {
        if (entry.settled) return;
        entry.settled = true;
        pending.delete(entry);
        resolve(value);
      },
      (error: unknown) => {
        if (entry.settled) return;
        entry.settled = true;
        pending.delete(entry);
        reject(error);
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
    entry.reject(new StoreTimeoutError(entry.timeoutMs));
  }
  if (pending.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}
