import type { MeasureOptions } from '../measure.ts';
import type { LoadOptions } from '../options.ts';
import type { LoadResult } from '../results.ts';
import type { SeedSizes, World } from '../seed.ts';
import type { SystemUnderTest } from '../system.ts';
import type { Workload } from '../workload.ts';

export interface ScenarioContext {
  system: SystemUnderTest;
  world: World;
  /** Loopback source addresses the users are spread over. */
  addresses: string[];
  /** The command line, for scenarios with options of their own (`--subscribers`, `--workers`). */
  options?: LoadOptions;
  /** Progress lines (stderr for the CLI). */
  log?: (line: string) => void;
}

/** A scenario, set up once per run on a seeded world. */
export interface PreparedScenario {
  /** The requests to send; called before every measured run (tokens may have been re-minted). */
  workload?(): Workload;
  /** How many of the acknowledged ids (the templates' `ack`) are in PostgreSQL now. */
  persisted?(ids: readonly string[]): Promise<number>;
  /**
   * Scenarios that drive their own clients (subscriptions, a user model, a growing table): one
   * measured run at `rate`, instead of the open-loop runner over `workload()`.
   */
  measure?(rate: number, options: MeasureOptions): Promise<LoadResult>;
  /** Stops what `prepare` started (client processes, subscriptions). */
  close?(): Promise<void>;
}

export interface Scenario {
  name: string;
  /** One line for `--help`. */
  summary: string;
  /** Seed sizes it needs unless the command line says otherwise (e.g. history to page through). */
  defaults?: Partial<SeedSizes>;
  /** The seed sizes, when the scenario derives them from the command line (fanout: a user per subscriber). */
  sizes?(requested: SeedSizes, options: LoadOptions): SeedSizes;
  /** It reads `--subscribers`. */
  usesSubscribers?: boolean;
  prepare(context: ScenarioContext): Promise<PreparedScenario>;
}
