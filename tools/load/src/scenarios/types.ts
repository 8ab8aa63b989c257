import type { SeedSizes, World } from '../seed.ts';
import type { SystemUnderTest } from '../system.ts';
import type { Workload } from '../workload.ts';

export interface ScenarioContext {
  system: SystemUnderTest;
  world: World;
  /** Loopback source addresses the users are spread over. */
  addresses: string[];
}

/** A scenario, set up once per run on a seeded world. */
export interface PreparedScenario {
  /** The requests to send; called before every measured run (tokens may have been re-minted). */
  workload(): Workload;
  /** How many of the acknowledged ids (the templates' `ack`) are in PostgreSQL now. */
  persisted?(ids: readonly string[]): Promise<number>;
}

export interface Scenario {
  name: string;
  /** One line for `--help`. */
  summary: string;
  /** Seed sizes it needs unless the command line says otherwise (e.g. history to page through). */
  defaults?: Partial<SeedSizes>;
  prepare(context: ScenarioContext): Promise<PreparedScenario>;
}
