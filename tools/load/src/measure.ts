import { type LoadResult, summarize } from './results.ts';
import { runOpenLoop } from './runner.ts';
import type { PreparedScenario } from './scenarios/types.ts';
import type { World } from './seed.ts';

export interface MeasureOptions {
  scenario: string;
  mode: string;
  instances: number;
  durationMs: number;
  warmupMs: number;
  addresses: string[];
  workers: number;
  connections: number;
  /** A priming run (not reported): scenarios that measure themselves may do less. */
  prime?: boolean;
  signal?: AbortSignal;
}

/** One open-loop run of a prepared scenario at `rate`, summarized; persistence checked where it applies. */
export async function measure(
  prepared: PreparedScenario,
  world: World,
  rate: number,
  options: MeasureOptions,
): Promise<LoadResult> {
  if (prepared.measure) return prepared.measure(rate, options);
  if (!prepared.workload) throw new Error(`${options.scenario}: the scenario has neither workload() nor measure()`);
  await world.refreshTokens();
  const workload = prepared.workload();
  const run = await runOpenLoop({
    workload,
    rate,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    addresses: options.addresses,
    workers: options.workers,
    connections: options.connections,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const result = summarize(run, {
    scenario: options.scenario,
    mode: options.mode,
    instances: options.instances,
    cpuMeasured: Object.values(workload.processes()).some((pids) => pids.length > 0),
  });
  if (prepared.persisted) {
    const ids = run.requests.flatMap((request) => (request.ack === undefined ? [] : [request.ack]));
    result.acknowledged = ids.length;
    result.persisted = await prepared.persisted(ids);
  }
  return result;
}

export interface FindMaxOptions {
  startRate: number;
  /** Each step offers this much more than the last. @default 1.2 */
  factor?: number;
  /** @default 20000 */
  maxRate?: number;
  /** @default 100 */
  p95LimitMs?: number;
  /** @default 0.001 */
  errorRateLimit?: number;
  /** Quiet time between steps (the outbox relay catches up). @default 1000 */
  pauseMs?: number;
  onStep?: (result: LoadResult, verdict: string | undefined) => void;
}

export interface FindMaxResult {
  /** The highest offered rate that held; null when even the first did not. */
  maxRate: number | null;
  held: LoadResult | undefined;
  /** Every step in order, a repeated (confirming) step included. */
  steps: LoadResult[];
  stoppedBecause: string;
}

/** Why a step does not hold, or undefined when it does. */
export function verdictOf(
  result: LoadResult,
  limits: { p95LimitMs: number; errorRateLimit: number },
): string | undefined {
  if (result.errorRate > limits.errorRateLimit)
    return `errors ${(result.errorRate * 100).toFixed(2)} % > ${limits.errorRateLimit * 100} %`;
  if (result.latencyMs.p95 > limits.p95LimitMs) return `p95 ${result.latencyMs.p95} ms > ${limits.p95LimitMs} ms`;
  return undefined;
}

/**
 * Steps the offered rate up by `factor` until a step misses the limits (p95 or error rate); a
 * miss is measured once more before it counts (a shared 2-core machine has hiccups).
 */
export async function findMax(
  step: (rate: number) => Promise<LoadResult>,
  options: FindMaxOptions,
): Promise<FindMaxResult> {
  const factor = options.factor ?? 1.2;
  const maxRate = options.maxRate ?? 20_000;
  const limits = { p95LimitMs: options.p95LimitMs ?? 100, errorRateLimit: options.errorRateLimit ?? 0.001 };
  const pause = () => new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 1000));
  const steps: LoadResult[] = [];
  let held: LoadResult | undefined;
  let rate = options.startRate;
  let stoppedBecause = `reached --max-rate ${maxRate}`;
  while (rate <= maxRate) {
    let result = await step(rate);
    steps.push(result);
    let verdict = verdictOf(result, limits);
    options.onStep?.(result, verdict);
    if (verdict) {
      await pause();
      result = await step(rate);
      steps.push(result);
      verdict = verdictOf(result, limits);
      options.onStep?.(result, verdict);
      if (verdict) {
        stoppedBecause = `${rate}/s: ${verdict}`;
        break;
      }
    }
    held = result;
    rate = Math.max(rate + 1, Math.round(rate * factor));
    await pause();
  }
  return { maxRate: held ? held.offeredRate : null, held, steps, stoppedBecause };
}
