import { AuthBusyError } from './errors.ts';

/** Options of {@link createWorkQueue}. */
export interface WorkQueueOptions {
  /** Tasks running at once. */
  concurrency: number;
  /** Tasks waiting for a free slot; one more is refused at once with `BUSY`. */
  queueSize: number;
}

/** A bounded queue in front of costly work. */
export interface WorkQueue {
  /** Runs `task` when a slot is free; throws `AuthBusyError` (`BUSY`) at once when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Running and waiting tasks, for tests and metrics. */
  readonly load: { running: number; waiting: number };
}

// Until a task has finished, the estimate of one task's duration (an argon2 verify with the
// OWASP parameters takes tens of ms on a server core).
const INITIAL_TASK_MS = 50;

/**
 * At most `concurrency` tasks run, at most `queueSize` wait, first come first served; past that,
 * a call fails at once instead of waiting. Password hashing is the costliest thing an anonymous
 * client can make the server do: without a bound, a burst of logins piles up on the libuv
 * threadpool (which fs and dns share), every request waits, and memory grows with the backlog.
 */
export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  // Validated by its one caller, createPasswordHasher.
  const { concurrency, queueSize } = options;
  const waiting: (() => void)[] = [];
  let running = 0;
  let averageTaskMs = INITIAL_TASK_MS;

  const release = () => {
    const next = waiting.shift();
    // The slot passes straight to the next task, so `running` never dips and lets a newcomer jump the queue.
    if (next) next();
    else running--;
  };

  const timed = async <T>(task: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await task();
    } finally {
      // A moving average, so the Retry-After hint follows the machine's real speed.
      averageTaskMs = averageTaskMs * 0.8 + (performance.now() - started) * 0.2;
      release();
    }
  };

  return {
    run(task) {
      if (running < concurrency) {
        running++;
        return timed(task);
      }
      if (waiting.length >= queueSize) {
        // About when the backlog ahead of a retry will have drained.
        const retryAfterMs = Math.ceil(((waiting.length + running) / concurrency) * averageTaskMs);
        return Promise.reject(new AuthBusyError(Math.max(retryAfterMs, 1)));
      }
      return new Promise<void>((resolve) => waiting.push(resolve)).then(() => timed(task));
    },
    get load() {
      return { running, waiting: waiting.length };
    },
  };
}
