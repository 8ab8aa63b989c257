/** One fetch of a key in progress, that callers of the same key join instead of fetching. */
export interface Flight {
  /** What callers get (may resolve early with a stale value while the fetch goes on). */
  promise: Promise<unknown>;
  /** The full key it fills. */
  readonly key: string;
  /** A refresh left running after callers got a stale value: it ends the flight when it lands. */
  background: boolean;
  /** Set by an invalidation of this key or one of its tags: the result must not be cached. */
  invalidated: boolean;
  /** The tags the fetched value will carry. */
  tags: readonly string[];
}

/** Stands in for a flight's promise until the fill has returned it (shared: no allocation). */
export const NOT_STARTED: Promise<unknown> = Promise.resolve();

/** The flights in progress in this process, by full key (single-flight). */
export class SingleFlight {
  private readonly flights = new Map<string, Flight>();

  /** The flight a caller of `key` should join, if any. */
  get(key: string): Flight | undefined {
    return this.flights.get(key);
  }

  /** Registers a flight for its key: later callers join it. */
  start(flight: Flight): void {
    this.flights.set(flight.key, flight);
  }

  /** Ends a flight: later callers start a new one. */
  end(flight: Flight): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
  }

  /**
   * Applies an invalidation to what is in flight: the flight's result is not cached, and the
   * flight leaves the map so that later callers do not join it.
   */
  invalidate(matches: (key: string, flight: Flight) => boolean): void {
    for (const [key, flight] of this.flights) {
      if (!matches(key, flight)) continue;
      flight.invalidated = true;
      this.flights.delete(key);
    }
  }
}
