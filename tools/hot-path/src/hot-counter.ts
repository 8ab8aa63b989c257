import type { Attributes, MeterLike, ObservableResultLike } from './telemetry.ts';

/**
 * One series of a `HotCounter`: what a hot path holds and adds to. Adding is one increment of a
 * field; nothing reaches OpenTelemetry until its SDK collects.
 */
export class CounterSeries {
  /** The count since the series was made (a counter's sum is cumulative). */
  value = 0;

  readonly attributes: Attributes;
  /**
   * The series of `OTHER`, given for names past the counter's limit: a caller does not keep it
   * under the name it asked for (its own map would grow without bound).
   */
  readonly overflow: boolean;

  // No parameter properties in the kit: child processes of the tests load it with Node's type
  // stripping, which does not take them.
  constructor(attributes: Attributes, overflow: boolean) {
    this.attributes = attributes;
    this.overflow = overflow;
  }

  add(amount = 1): void {
    this.value += amount;
  }
}

/** What a series is called past `maxSeries`: OpenTelemetry's word for a value outside the known set. */
export const OTHER = '_OTHER';

const counters = new WeakMap<MeterLike, Map<string, HotCounter>>();

/**
 * A counter for decisions made in memory, on paths that run millions of times a second. A
 * synchronous counter's `add(1, attributes)` costs more in the SDK than the decision it counts
 * (it looks the attribute set up on every call: about a microsecond, against checks of 100 ns).
 * This keeps a plain number per attribute set instead and reports them through an observable
 * counter when the SDK collects: the same metric (a monotonic sum, cumulative) for the backend,
 * one increment for the hot path, which keeps the series it adds to.
 *
 * One per meter and name (`HotCounter.of`): every instance of a package (two caches, two rbac
 * instances) adds to the same series, as they would with a synchronous counter. An observable
 * instrument reports absolute sums, so two callbacks each reporting its own instance's count for
 * the same attributes would overwrite each other. A closed instance's counts stay in the sums
 * (a counter does not go down).
 *
 * A series is a `name` (the open-ended attribute: a permission, a limiter prefix) and a `variant`
 * (the closed ones: an outcome, an operation). `maxNames` bounds the names: past it, a name's
 * series are those of `OTHER`, so request data used as a name cannot grow the metric (or this
 * map) without bound.
 */
export class HotCounter {
  readonly #series = new Map<string, CounterSeries>();
  readonly #names = new Set<string>();
  readonly #others = new Map<string, CounterSeries>();

  /** The counter `name` of `meter`, made (and its instrument registered) the first time. */
  static of(meter: MeterLike, name: string, options: { description: string; unit: string }, maxNames = 1_000) {
    let byName = counters.get(meter);
    if (!byName) {
      byName = new Map();
      counters.set(meter, byName);
    }
    let counter = byName.get(name);
    if (!counter) {
      counter = new HotCounter(maxNames);
      meter.createObservableCounter(name, options).addCallback(counter.#report);
      byName.set(name, counter);
    }
    return counter;
  }

  readonly #maxNames: number;

  private constructor(maxNames: number) {
    this.#maxNames = maxNames;
  }

  readonly #report = (result: ObservableResultLike): void => {
    for (const series of this.#series.values()) {
      if (series.value > 0) result.observe(series.value, series.attributes);
    }
    for (const series of this.#others.values()) {
      if (series.value > 0) result.observe(series.value, series.attributes);
    }
  };

  /**
   * The series of `name` and `variant`, made the first time with `attributes(name)` (frozen: it is
   * reported as is every time); past `maxNames` names, the `overflow` series of `OTHER` and
   * `variant`, made with `attributes(OTHER)`.
   */
  series(name: string, variant: string, attributes: (name: string) => Attributes): CounterSeries {
    const key = `${variant}\u0000${name}`;
    const known = this.#series.get(key);
    if (known) return known;
    if (!this.#names.has(name)) {
      if (this.#names.size >= this.#maxNames) {
        let other = this.#others.get(variant);
        if (!other) {
          other = new CounterSeries(Object.freeze(attributes(OTHER)), true);
          this.#others.set(variant, other);
        }
        return other;
      }
      this.#names.add(name);
    }
    const made = new CounterSeries(Object.freeze(attributes(name)), false);
    this.#series.set(key, made);
    return made;
  }
}
