import { loopbackAddresses } from './addresses.ts';
import { ensureBuilt } from './build-check.ts';
import { latencyChart } from './chart.ts';
import { type FindMaxResult, findMax, measure } from './measure.ts';
import type { LoadOptions } from './options.ts';
import { UsageError } from './options.ts';
import { type Comparison, compare, type LoadResult } from './results.ts';
import { baseline as baselineScenario } from './scenarios/baseline.ts';
import { type PreparedScenario, type Scenario, scenarios } from './scenarios/index.ts';
import { seedDatabase, seedThroughApi, type World } from './seed.ts';
import { type SystemUnderTest, startSystem } from './system.ts';

/** find-max's outcome, without the held step (that one is the report's top level). */
export interface FindMaxReport {
  maxRate: number | null;
  stoppedBecause: string;
  steps: LoadResult[];
}

/** What `--json` writes: the scenario's result at the top level (the contract fields), plus context. */
export interface LoadReport extends LoadResult {
  findMax?: FindMaxReport;
  /** send: the bare baseline, same client, same rate(s), same PostgreSQL. */
  baseline?: LoadResult & { findMax?: FindMaxReport };
  /** full / bare. */
  comparedToBaseline?: Comparison;
  seed: { users: number; chats: number; members: number; history: number };
}

export interface LoadOutcome {
  report: LoadReport;
  /** Rows for the printed table. */
  rows: LoadResult[];
  /** With --find-max: the chart. */
  svg: string | undefined;
  /** The temp dir with the servers' logs (kept with --keep). */
  dir: string;
}

const P95_LIMIT_MS = 100;
/** The highest rate a scenario is primed at (a cold server keeps up with it). */
const PRIME_RATE = 200;

/** Starts the system, seeds, runs the scenario (and the baseline beside `send`), stops everything. */
export async function runLoad(
  options: LoadOptions,
  io: { log: (line: string) => void; signal?: AbortSignal },
): Promise<LoadOutcome> {
  const scenario: Scenario | undefined = scenarios[options.scenario];
  if (!scenario) {
    throw new UsageError(`unknown scenario '${options.scenario}' (known: ${Object.keys(scenarios).join(', ')})`);
  }
  if (options.subscribers !== undefined && !scenario.usesSubscribers)
    io.log(`note: ${scenario.name} does not use --subscribers`);
  if (!options.target) ensureBuilt({ build: options.build });
  const addresses = loopbackAddresses(options.addresses);
  const system: SystemUnderTest = await startSystem({
    mode: options.target ? 'target' : options.mode,
    ...(options.target ? { target: options.target } : {}),
    instances: options.instances,
    serverEnv: options.serverEnv,
    ...(options.cpuProf ? { cpuProfDir: options.cpuProf } : {}),
    keepDir: options.keep,
    ...(io.signal ? { signal: io.signal } : {}),
    log: io.log,
  });
  let world: World | undefined;
  let prepared: PreparedScenario | undefined;
  try {
    const requested = {
      users: options.users,
      chats: options.chats,
      members: options.members,
      history: options.history ?? scenario.defaults?.history ?? 0,
    };
    const sizes = scenario.sizes ? scenario.sizes(requested, options) : requested;
    io.log(
      `seeding ${sizes.users} users, ${sizes.chats} chats of ${sizes.members}${sizes.history ? `, ${sizes.history} messages each` : ''}...`,
    );
    const seeded = Date.now();
    world =
      system.databaseUrl && system.signingKeys
        ? await seedDatabase({ databaseUrl: system.databaseUrl, signingKeys: system.signingKeys, sizes })
        : await seedThroughApi({ url: system.instances[0]?.url as string, sizes, addresses });
    io.log(`seeded in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
    const context = { system, world, addresses, options, log: io.log };
    const withBaseline = scenario.name === 'send' && options.baseline && system.databaseUrl !== undefined;
    if (scenario.name === 'send' && options.baseline && !withBaseline) {
      io.log('note: no baseline beside a --target server (it needs the same PostgreSQL)');
    }
    prepared = await scenario.prepare(context);
    const preparedBaseline = withBaseline ? await baselineScenario.prepare(context) : undefined;
    const measureOptions = (name: string) => ({
      scenario: name,
      mode: system.mode,
      instances: name === 'baseline' ? 1 : system.instances.length,
      durationMs: options.durationS * 1000,
      warmupMs: options.warmupS * 1000,
      addresses,
      workers: options.workers,
      connections: options.connections,
      ...(io.signal ? { signal: io.signal } : {}),
    });
    const step = (name: string, run: PreparedScenario, rate: number) => {
      io.log(`${name}: ${rate}/s for ${options.warmupS} + ${options.durationS} s...`);
      return measure(run, world as World, rate, measureOptions(name));
    };
    // A fresh server is cold (JIT, caches, pools): hit at a high rate at once it builds a queue
    // that the warm-up cannot drain. So each scenario first runs --prime seconds at a modest rate.
    const prime = async (name: string, run: PreparedScenario) => {
      if (options.primeS <= 0) return;
      const rate = Math.min(options.rate, PRIME_RATE);
      io.log(`${name}: ${options.primeS} s at ${rate}/s first (priming, not measured)...`);
      await measure(run, world as World, rate, {
        ...measureOptions(name),
        warmupMs: 0,
        durationMs: options.primeS * 1000,
        prime: true,
      });
    };
    const seed = sizes;

    if (!options.findMax) {
      await prime(scenario.name, prepared);
      const result = await step(scenario.name, prepared, options.rate);
      if (preparedBaseline) await prime('baseline', preparedBaseline);
      const bare = preparedBaseline ? await step('baseline', preparedBaseline, options.rate) : undefined;
      const report: LoadReport = {
        ...result,
        ...(bare ? { baseline: bare, comparedToBaseline: compare(result, bare) } : {}),
        seed,
      };
      return { report, rows: bare ? [result, bare] : [result], svg: undefined, dir: system.dir };
    }

    const search = async (name: string, run: PreparedScenario): Promise<FindMaxResult> => {
      await prime(name, run);
      return findMax((rate) => step(name, run, rate), {
        startRate: options.rate,
        factor: options.step,
        maxRate: options.maxRate,
        p95LimitMs: P95_LIMIT_MS,
        onStep: (result, verdict) =>
          io.log(
            `  ${name} ${result.offeredRate}/s: p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, p99 ${result.latencyMs.p99} ms, errors ${result.errors}${result.generator.behind ? ', generator behind' : ''} -> ${verdict ?? 'held'}`,
          ),
      });
    };
    const full = await search(scenario.name, prepared);
    const bare = preparedBaseline ? await search('baseline', preparedBaseline) : undefined;
    const summary = (found: FindMaxResult): LoadResult & { findMax: FindMaxReport } => ({
      ...((found.held ?? found.steps[0]) as LoadResult),
      findMax: { maxRate: found.maxRate, stoppedBecause: found.stoppedBecause, steps: found.steps },
    });
    const report: LoadReport = { ...summary(full), seed };
    if (bare) {
      report.baseline = summary(bare);
      // CPU and p95 compared at the same offered rate: the full stack's highest that held.
      const sameRate = bare.steps.findLast((result) => result.offeredRate === report.offeredRate) ?? report.baseline;
      report.comparedToBaseline = {
        ...compare(report, sameRate),
        ...(full.maxRate && bare.maxRate ? { maxRate: Math.round((full.maxRate / bare.maxRate) * 100) / 100 } : {}),
      };
    }
    const points = (found: FindMaxResult) => {
      // A repeated step replaces the first measurement at its rate.
      const byRate = new Map(found.steps.map((result) => [result.offeredRate, result]));
      return [...byRate.values()].map((result) => ({ rate: result.offeredRate, ...result.latencyMs }));
    };
    const svg = latencyChart({
      title: `${scenario.name}, ${system.mode} mode: latency against offered rate`,
      series: [
        { name: scenario.name, points: points(full) },
        ...(bare ? [{ name: 'baseline', points: points(bare) }] : []),
      ],
      limitMs: P95_LIMIT_MS,
    });
    const rows = [...full.steps, ...(bare?.steps ?? [])];
    return { report, rows, svg, dir: system.dir };
  } finally {
    await prepared?.close?.().catch(() => {});
    await world?.close();
    await system.stop();
  }
}
