import {
  type Attributes,
  type CounterSeries,
  failSpan,
  HotCounter,
  inSpan,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  type SpanLike,
  type TracerLike,
} from '@switchboard/hot-path';
import { KEY_SEPARATOR } from './keys.ts';
import type {
  Algorithm,
  BoundStore,
  Decision,
  EvaluateMode,
  RateLimitResult,
  RateLimitStore,
  StoreBindOptions,
  StoreEntry,
} from './types.ts';

/**
 * A `telemetry` option: `true` for the global OpenTelemetry API (`@opentelemetry/api`, an optional
 * peer dependency), or the API object itself (`import * as api from '@opentelemetry/api'`).
 * @default false (no tracing code runs)
 */
export type Telemetry = boolean | { trace: object; context: object; metrics?: object };

const SCOPE = '@switchboard/ratelimit';

/** What a check is called on a limiter: the store's `force` is the limiter's `penalize`. */
const OPERATION: Record<EvaluateMode, string> = { consume: 'consume', peek: 'peek', force: 'penalize' };

/** The limiter prefix of a storage key (`<prefix>|<encoded key>`, see keys.ts). */
const prefixOf = (storageKey: string): string => {
  const bar = storageKey.indexOf(KEY_SEPARATOR);
  return bar < 0 ? storageKey : storageKey.slice(0, bar);
};

/**
 * The Redis store with a span around every check, block and reset: `switchboard.ratelimit.<op>`
 * (client kind), started when the limiter asks and ended when Redis's answer for it arrives (the
 * checks of a turn share one EVALSHA, each keeps its own span). A store failure answered by the
 * limiter's `onStoreError` policy is recorded on the span (status ERROR) with the policy's answer.
 */
export function traceRedisStore(api: OpenTelemetryApi, store: RateLimitStore): RateLimitStore {
  const tracer = api.trace.getTracer(SCOPE);
  const bind = store.bind?.bind(store);
  const traced: RateLimitStore = {
    evaluate(mode, entries) {
      return inSpan(api, tracer, `switchboard.ratelimit.${OPERATION[mode]}`, checkOptions(entries), (span) =>
        store.evaluate(mode, entries).then((decisions) => {
          span.setAttributes(decisionAttributes(decisions));
          return decisions;
        }),
      );
    },
    reset(keys) {
      const attributes = commandAttributes('DEL', keys.length === 1 ? prefixOf(keys[0] as string) : keys.map(prefixOf));
      return inSpan(api, tracer, 'switchboard.ratelimit.reset', { kind: SPAN_KIND.client, attributes }, () =>
        store.reset(keys),
      );
    },
    block(key, durationMs) {
      const attributes = commandAttributes('SET', prefixOf(key));
      return inSpan(api, tracer, 'switchboard.ratelimit.block', { kind: SPAN_KIND.client, attributes }, () =>
        store.block(key, durationMs),
      );
    },
  };
  if (bind) traced.bind = (prefix, algorithm, options) => traceBound(api, tracer, bind, prefix, algorithm, options);
  return traced;
}

/** A bound consume in its span; the policy's answers to store failures are told apart by object. */
function traceBound(
  api: OpenTelemetryApi,
  tracer: TracerLike,
  bind: NonNullable<RateLimitStore['bind']>,
  prefix: string,
  algorithm: Algorithm,
  options: StoreBindOptions,
): BoundStore {
  const failures = new WeakMap<RateLimitResult, unknown>();
  const bound = bind(prefix, algorithm, {
    blockDurationMs: options.blockDurationMs,
    timeoutMs: options.timeoutMs,
    answered: () => options.answered(),
    fail: (error, key, cost) =>
      options.fail(error, key, cost).then((result) => {
        failures.set(result, error);
        return result;
      }),
  });
  const spanOptions = {
    kind: SPAN_KIND.client,
    attributes: { 'switchboard.ratelimit.prefix': prefix, 'switchboard.ratelimit.algorithm': algorithm.kind },
  };
  return {
    consume: (key, cost) =>
      inSpan(api, tracer, 'switchboard.ratelimit.consume', spanOptions, (span) =>
        bound.consume(key, cost).then((result) => {
          span.setAttributes(decisionAttributes([result]));
          if (failures.has(result)) failDegraded(span, failures.get(result), result.degraded);
          return result;
        }),
      ),
  };
}

function checkOptions(entries: readonly StoreEntry[]) {
  const one = entries.length === 1 ? entries[0] : undefined;
  const attributes: Attributes = one
    ? { 'switchboard.ratelimit.prefix': prefixOf(one.key), 'switchboard.ratelimit.algorithm': one.algorithm.kind }
    : {
        'switchboard.ratelimit.prefix': entries.map((entry) => prefixOf(entry.key)),
        'switchboard.ratelimit.algorithm': entries.map((entry) => entry.algorithm.kind),
        'switchboard.ratelimit.entries': entries.length,
      };
  return { kind: SPAN_KIND.client, attributes };
}

/** `allowed` of the whole check (every entry), `remaining` per entry when there are several. */
function decisionAttributes(decisions: readonly Pick<Decision, 'allowed' | 'remaining'>[]): Attributes {
  const allowed = decisions.every((decision) => decision.allowed);
  return {
    'switchboard.ratelimit.allowed': allowed,
    'switchboard.ratelimit.remaining':
      decisions.length === 1 ? (decisions[0]?.remaining ?? 0) : decisions.map((decision) => decision.remaining),
  };
}

// Block and reset are one plain command each: named as OpenTelemetry's database conventions say.
const commandAttributes = (command: string, prefix: string | string[]): Attributes => ({
  'db.system.name': 'redis',
  'db.operation.name': command,
  'switchboard.ratelimit.prefix': prefix,
});

function failDegraded(span: SpanLike, error: unknown, degraded: string | undefined): void {
  failSpan(span, error);
  if (degraded) span.setAttribute('switchboard.ratelimit.degraded', degraded);
}

/** The Redis store's tracing API, or `undefined` when telemetry is off. */
export const redisStoreTelemetry = (option: Telemetry | undefined): OpenTelemetryApi | undefined =>
  resolveTelemetry('createRedisStore', option);

/**
 * The memory store's check counter (`switchboard.ratelimit.checks`), or `undefined` when
 * telemetry is off or the API given has no metrics.
 */
export function memoryStoreChecks(option: Telemetry | undefined): CheckCounter | undefined {
  const api = resolveTelemetry('createMemoryStore', option);
  const meter = api?.metrics?.getMeter(SCOPE);
  if (!meter) return undefined;
  return new CheckCounter(
    HotCounter.of(
      meter,
      'switchboard.ratelimit.checks',
      { description: 'Rate-limit checks decided by the in-memory store', unit: '{check}' },
      // Distinct limiter prefixes with series of their own; past it, `_OTHER`. Prefixes come from
      // code (one per limiter), so an application stays far below.
      1_000,
    ),
  );
}

/** A prefix's series: [allowed, refused] for each operation. */
type PrefixSeries = Record<string, readonly [allowed: CounterSeries, refused: CounterSeries]>;

/**
 * Counts the memory store's checks by prefix, operation and outcome (`allowed` / `refused`): a
 * check adds one to a series found in a map (see `HotCounter`: the SDK reads the sums when it
 * collects). A bound limiter finds its two series once, at bind.
 */
export class CheckCounter {
  readonly #byPrefix = new Map<string, PrefixSeries>();

  constructor(private readonly counter: HotCounter) {}

  /** A bound limiter's consume, counted. */
  bound(prefix: string, consume: BoundStore['consume']): BoundStore['consume'] {
    const [allowed, refused] = this.seriesOf(prefix).consume as PrefixSeries[string];
    return (key, cost) =>
      consume(key, cost).then((result) => {
        (result.allowed ? allowed : refused).add();
        return result;
      });
  }

  /** The decisions of one `evaluate`, one count per entry. */
  decided(mode: EvaluateMode, entries: readonly StoreEntry[], decisions: readonly Decision[]): void {
    const operation = OPERATION[mode];
    decisions.forEach((decision, index) => {
      const pair = this.seriesOf(prefixOf((entries[index] as StoreEntry).key))[operation] as PrefixSeries[string];
      pair[decision.allowed ? 0 : 1].add();
    });
  }

  private seriesOf(prefix: string): PrefixSeries {
    const known = this.#byPrefix.get(prefix);
    if (known) return known;
    const made: PrefixSeries = {};
    let overflow = false;
    for (const operation of Object.values(OPERATION)) {
      const series = (outcome: 'allowed' | 'refused') =>
        this.counter.series(prefix, `${operation}\u0000${outcome}`, (name) => ({
          'switchboard.ratelimit.prefix': name,
          'switchboard.ratelimit.operation': operation,
          'switchboard.ratelimit.outcome': outcome,
        }));
      const pair = [series('allowed'), series('refused')] as const;
      overflow ||= pair[0].overflow;
      made[operation] = pair;
    }
    // Past the limit, the `_OTHER` series: not kept under this prefix's name.
    if (!overflow) this.#byPrefix.set(prefix, made);
    return made;
  }
}
