import type { BatchResult } from './relay.ts';
import type { RelayEmitter } from './relay-events.ts';
import type { ResolvedRelayOptions } from './relay-options.ts';

type Timing = Pick<ResolvedRelayOptions, 'batchSize' | 'pollIntervalMs' | 'lingerMs' | 'cleanupIntervalMs'>;

/**
 * The relay's main loop: runs batches back to back while there is work, then sleeps until a
 * wake-up (a NOTIFY, `relay.wake()`) or the poll interval, whichever comes first. Polling stays
 * on even while LISTEN works: it finds retries that came due and events whose NOTIFY was missed.
 * The periodic cleanup runs between batches, never alongside this relay's own.
 */
export class PollingLoop {
  #running = false;
  #loop: Promise<void> | undefined;
  /** A wake-up arrived since the current batch started: its events may not be in that batch. */
  #wakeRequested = false;
  /** Ends the current sleep early; set only while a wakeable sleep is pending. */
  #wake: (() => void) | undefined;
  /** Ends the current sleep for `stop()`, wakeable or not. */
  #interrupt: (() => void) | undefined;
  #lastCleanup = Date.now();

  constructor(
    private readonly runBatch: () => Promise<BatchResult>,
    private readonly cleanup: () => Promise<number>,
    private readonly events: RelayEmitter,
    private readonly timing: Timing,
  ) {}

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    this.#running = true;
    this.#lastCleanup = Date.now();
    this.#loop = this.#run();
  }

  /** Stops; resolves once the batch in flight (if any) has finished. */
  stop(): Promise<void> {
    this.#running = false;
    this.#interrupt?.();
    return this.#loop ?? Promise.resolve();
  }

  /** Events were committed: look for them now, or right after the batch in flight. */
  wake(): void {
    this.#wakeRequested = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const { batchSize, pollIntervalMs, lingerMs, cleanupIntervalMs } = this.timing;
    let errorDelay = 100;
    while (this.#running) {
      this.#wakeRequested = false;
      let result: BatchResult | undefined;
      try {
        result = await this.runBatch();
        errorDelay = 100;
      } catch (error) {
        this.events.emit('error', error);
        await this.#sleep(errorDelay, true);
        // Backs off while the database is unreachable, but never past a few poll intervals.
        errorDelay = Math.min(errorDelay * 2, pollIntervalMs * 5);
        continue;
      }
      if (cleanupIntervalMs > 0 && Date.now() - this.#lastCleanup >= cleanupIntervalMs) {
        this.#lastCleanup = Date.now();
        try {
          await this.cleanup();
        } catch (error) {
          this.events.emit('error', error);
        }
      }
      // A full batch means there may be more: go again without waiting.
      if (result.claimed >= batchSize) continue;
      // Under load (events arrived while this batch ran), let the next ones gather for a moment.
      // A batch of one is a quiet outbox: the next event goes out at once.
      if (result.claimed > 1 && lingerMs > 0) await this.#sleep(lingerMs, false);
      if (this.#wakeRequested) continue;
      await this.#sleep(pollIntervalMs, true);
    }
  }

  /**
   * Sleeps `ms`; `stop()` cuts it short, and so does a wake-up when `wakeable` (otherwise a
   * wake-up is only remembered in `#wakeRequested`, for the loop to act on after the sleep).
   */
  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (!this.#running || (wakeable && this.#wakeRequested)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#interrupt = done;
      if (wakeable) this.#wake = done;
    });
  }
}
