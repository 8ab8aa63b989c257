/**
 * The load harness as a library, for drills and tests: start the system under test, seed it,
 * run open-loop load, summarize, chart.
 */
export { loopbackAddresses } from './addresses.ts';
export { BASELINE_TABLE } from './baseline-schema.ts';
export { buildStates, ensureBuilt, SERVER_MAIN } from './build-check.ts';
export { type ChartOptions, type ChartSeries, latencyChart } from './chart.ts';
export { cpuTimeMs, type ProcessGroups } from './cpu.ts';
export { LOAD_LIMITS, serverEnvironment } from './environment.ts';
export { GraphQLClient } from './graphql-client.ts';
export { type FindMaxReport, type LoadOutcome, type LoadReport, runLoad } from './load.ts';
export {
  type FindMaxOptions,
  type FindMaxResult,
  findMax,
  type MeasureOptions,
  measure,
  verdictOf,
} from './measure.ts';
export { type LoadOptions, numberOption, parseOptions, USAGE, UsageError } from './options.ts';
export { type ServerProcess, startServerProcess } from './processes.ts';
export { random } from './random.ts';
export { type Comparison, compare, type LatencyMs, type LoadResult, quantile, summarize, table } from './results.ts';
export { type OpenLoopOptions, type OpenLoopRun, type RequestRecord, runOpenLoop } from './runner.ts';
export { type PreparedScenario, type Scenario, type ScenarioContext, scenarios } from './scenarios/index.ts';
export {
  membersOf,
  type SeededChat,
  type SeededUser,
  type SeedSizes,
  seedDatabase,
  seedThroughApi,
  type World,
} from './seed.ts';
export { type Instance, type Mode, type SystemOptions, type SystemUnderTest, startSystem } from './system.ts';
export type { RequestTemplate, Workload } from './workload.ts';
