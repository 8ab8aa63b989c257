/**
 * A clock that counts ticks of `periodMs` instead of being read: on a path cheaper than a clock
 * read (a warm permission check), an age is `clock.tick - loadedTick`, one field load. An entry
 * loaded at tick t is at least (tick - t - 1) × periodMs old, so "trusted while tick - t ≤ n"
 * trusts it for n to n + 1 periods.
 *
 * The timer runs from the first `start()` until `stop()`, and never keeps the process alive.
 */
export class TickClock {
  /** Ticks counted since the clock was created. */
  tick = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly periodMs: number;

  // A plain field, not a parameter property: the kit loads under Node's type stripping too.
  constructor(periodMs: number) {
    this.periodMs = periodMs;
  }

  /** The current tick, starting the timer if it is not running. */
  start(): number {
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick++, Math.max(1, this.periodMs));
      this.timer.unref?.();
    }
    return this.tick;
  }

  /** Stops the timer (the tick stays where it is until `start()` again). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
