import type { OpenLoopRun } from './runner.ts';

export interface LatencyMs {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * One measured run of one scenario. The fields up to `cpuMsPerOp` are the contract (issue 18):
 * tools and READMEs read them by name.
 */
export interface LoadResult {
  scenario: string;
  mode: string;
  /** Requests per second sent on schedule. */
  offeredRate: number;
  /** Successful answers per second, from the window's start until its last answer. */
  achievedRate: number;
  durationS: number;
  /** Requests due in the measured window. */
  requests: number;
  /** Network errors, timeouts, non-200 answers and answers with GraphQL `errors`. */
  errors: number;
  errorRate: number;
  /** From the due time to the complete answer (errors included). */
  latencyMs: LatencyMs;
  /** CPU time of every process of the system under test per request; null when it is not ours (`--target`). */
  cpuMsPerOp: number | null;
  /** `cpuMsPerOp` by role: `server` (the chat servers, or the bare one), `postgres` (the primary), `replicas`, `redis`. */
  cpuMsPerOpBy: Record<string, number> | null;
  /** Count per kind, e.g. `{ "graphql RATE_LIMITED": 3 }`. */
  errorKinds: Record<string, number>;
  instances: number;
  /** The load generator's own health: if it fell behind its schedule, the figures above include its lag. */
  generator: {
    workers: number;
    lateMs: { p50: number; p99: number; max: number };
    cpuPercent: number;
    /** Every other process on the machine in the window, % of one core: another job's noise. */
    otherCpuPercent: number;
    /** True when sends left more than `GENERATOR_LATE_LIMIT_MS` late at p99: measure with more workers. */
    behind: boolean;
  };
  /** Per second of the window (by due time): requests, errors and latency, to see a hiccup. */
  timeline: { second: number; requests: number; errors: number; p50: number; p99: number; max: number }[];
  /** Successes whose answer named a persisted row (send, baseline). */
  acknowledged?: number;
  /** Of those, how many are in PostgreSQL after the run. */
  persisted?: number;
  // Scenarios with subscribers (fanout, mixed): every expected delivery counted.
  subscribers?: number;
  /** Each acknowledged message of the window times the subscribers of its chat, its sender's own excluded. */
  expectedDeliveries?: number;
  delivered?: number;
  lost?: number;
  /** Receipts of a message a subscriber already had. */
  duplicates?: number;
  /** From the send's acknowledgement (its answer at the load generator) to the receipt. */
  deliveryLatencyMs?: LatencyMs;
  /** Servers' RSS with the subscribers connected and idle, minus before they connected, per subscriber; null when not ours. */
  memoryPerSubscriberKiB?: number | null;
  /** mixed: per operation. */
  operations?: Record<string, OperationResult>;
  /** growth: latency at each size of the messages table. */
  points?: GrowthPoint[];
}

export interface OperationResult {
  count: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface GrowthPoint {
  /** Rows in `messages` when measured. */
  rows: number;
  send: OperationResult & { cpuMsPerOp: number | null };
  page: OperationResult & { cpuMsPerOp: number | null };
}

export const GENERATOR_LATE_LIMIT_MS = 10;

/** The value at quantile `q` of ascending `sorted` (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

const round = (value: number, digits: number) => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** Turns the runner's records into the result. */
export function summarize(
  run: OpenLoopRun,
  context: { scenario: string; mode: string; instances: number; cpuMeasured: boolean },
): LoadResult {
  const { requests } = run;
  const latencies = Float64Array.from(requests, (request) => request.latencyMs).sort();
  const late = Float64Array.from(requests, (request) => request.lateMs).sort();
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  for (const request of requests) {
    if (request.error === undefined) continue;
    errors++;
    errorKinds[request.error] = (errorKinds[request.error] ?? 0) + 1;
  }
  const lateP99 = quantile(late, 0.99);
  const cpuMeasured = context.cpuMeasured && requests.length > 0;
  const cpuTotal = Object.values(run.cpuMs).reduce((sum, ms) => sum + ms, 0);
  return {
    scenario: context.scenario,
    mode: context.mode,
    offeredRate: round(run.rate, 1),
    achievedRate: round(((requests.length - errors) / Math.max(run.elapsedMs, 1)) * 1000, 1),
    durationS: round(run.durationMs / 1000, 3),
    requests: requests.length,
    errors,
    errorRate: requests.length ? round(errors / requests.length, 6) : 0,
    latencyMs: {
      p50: round(quantile(latencies, 0.5), 2),
      p95: round(quantile(latencies, 0.95), 2),
      p99: round(quantile(latencies, 0.99), 2),
      max: round(quantile(latencies, 1), 2),
    },
    cpuMsPerOp: cpuMeasured ? round(cpuTotal / requests.length, 4) : null,
    cpuMsPerOpBy: cpuMeasured
      ? Object.fromEntries(Object.entries(run.cpuMs).map(([name, ms]) => [name, round(ms / requests.length, 4)]))
      : null,
    errorKinds,
    instances: context.instances,
    timeline: timeline(run),
    generator: {
      workers: run.workers,
      lateMs: { p50: round(quantile(late, 0.5), 2), p99: round(lateP99, 2), max: round(quantile(late, 1), 2) },
      cpuPercent: round(run.generatorCpuPercent, 1),
      otherCpuPercent: round(run.otherCpuPercent, 1),
      behind: lateP99 > GENERATOR_LATE_LIMIT_MS,
    },
  };
}

function timeline(run: OpenLoopRun): LoadResult['timeline'] {
  const seconds = Math.ceil(run.durationMs / 1000);
  const buckets = Array.from({ length: seconds }, () => ({ latencies: [] as number[], errors: 0 }));
  for (const request of run.requests) {
    const bucket = buckets[Math.min(seconds - 1, Math.floor(request.at / 1000))];
    if (!bucket) continue;
    bucket.latencies.push(request.latencyMs);
    if (request.error !== undefined) bucket.errors++;
  }
  return buckets.map((bucket, second) => {
    const sorted = Float64Array.from(bucket.latencies).sort();
    return {
      second,
      requests: sorted.length,
      errors: bucket.errors,
      p50: round(quantile(sorted, 0.5), 1),
      p99: round(quantile(sorted, 0.99), 1),
      max: round(quantile(sorted, 1), 1),
    };
  });
}

/** Markdown table, one row per result. */
export function table(results: readonly LoadResult[]): string {
  const header = [
    'scenario',
    'mode',
    'offered/s',
    'achieved/s',
    'requests',
    'errors',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'max ms',
    'CPU ms/op',
    'gen. late p99 ms',
    'other CPU %',
  ];
  const rows = results.map((result) => [
    result.scenario,
    result.mode,
    String(result.offeredRate),
    String(result.achievedRate),
    String(result.requests),
    result.errors ? `${result.errors} (${round(result.errorRate * 100, 2)} %)` : '0',
    result.latencyMs.p50.toFixed(1),
    result.latencyMs.p95.toFixed(1),
    result.latencyMs.p99.toFixed(1),
    result.latencyMs.max.toFixed(1),
    result.cpuMsPerOp === null ? 'n/a' : result.cpuMsPerOp.toFixed(3),
    `${result.generator.lateMs.p99.toFixed(1)}${result.generator.behind ? ' (behind)' : ''}`,
    result.generator.otherCpuPercent.toFixed(0),
  ]);
  return [markdown(header, rows), ...extraTables(results)].join('\n\n');
}

function markdown(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const ms = (value: number) => value.toFixed(1);
const percentiles = (latency: { p50: number; p95: number; p99: number }) =>
  [latency.p50, latency.p95, latency.p99].map(ms);

/** Deliveries (fanout, mixed), operations (mixed) and growth points, where a result has them. */
function extraTables(results: readonly LoadResult[]): string[] {
  const tables: string[] = [];
  const fanout = results.filter((result) => result.delivered !== undefined);
  if (fanout.length) {
    const header = [
      'scenario',
      'offered/s',
      'subscribers',
      'expected',
      'delivered',
      'lost',
      'duplicates',
      'delivery p50 ms',
      'p95 ms',
      'p99 ms',
      'KiB/subscriber',
    ];
    const rows = fanout.map((result) => [
      ...[result.scenario, result.offeredRate, result.subscribers, result.expectedDeliveries].map(String),
      ...[result.delivered, result.lost, result.duplicates].map(String),
      ...percentiles(result.deliveryLatencyMs ?? { p50: 0, p95: 0, p99: 0 }),
      result.memoryPerSubscriberKiB == null ? 'n/a' : result.memoryPerSubscriberKiB.toFixed(1),
    ]);
    tables.push(markdown(header, rows));
  }
  for (const result of results) {
    if (!result.operations) continue;
    const header = [
      `${result.scenario} ${result.offeredRate}/s`,
      'count',
      'errors',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
    ];
    const rows = Object.entries(result.operations).map(([name, op]) => [
      name,
      String(op.count),
      String(op.errors),
      ...percentiles(op),
      ms(op.max),
    ]);
    tables.push(markdown(header, rows));
  }
  for (const result of results) {
    if (!result.points) continue;
    const header = ['rows', 'send p50 ms', 'send p95 ms', 'send p99 ms', 'page p50 ms', 'page p95 ms', 'page p99 ms'];
    const rows = result.points.map((point) => [
      String(point.rows),
      ...percentiles(point.send),
      ...percentiles(point.page),
    ]);
    tables.push(markdown(header, rows));
  }
  return tables;
}

/** How the full stack compares with the bare baseline at the same offered rate. */
export interface Comparison {
  /** full / bare CPU per request. */
  cpuPerOp: number | null;
  /** full / bare p95. */
  p95: number;
  /** find-max only: full / bare highest rate that held. */
  maxRate?: number;
}

export function compare(full: LoadResult, bare: LoadResult): Comparison {
  return {
    cpuPerOp: full.cpuMsPerOp !== null && bare.cpuMsPerOp ? round(full.cpuMsPerOp / bare.cpuMsPerOp, 2) : null,
    p95: bare.latencyMs.p95 ? round(full.latencyMs.p95 / bare.latencyMs.p95, 2) : 0,
  };
}

export { round };
