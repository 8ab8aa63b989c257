import { baseline } from './baseline.ts';
import { fanout } from './fanout.ts';
import { growth } from './growth.ts';
import { mixed } from './mixed.ts';
import { read } from './read.ts';
import { send } from './send.ts';
import type { Scenario } from './types.ts';

/** Every scenario `npm run load -- <name>` knows; add new ones here. */
export const scenarios: Record<string, Scenario> = { send, baseline, read, fanout, mixed, growth };

export type { PreparedScenario, Scenario, ScenarioContext } from './types.ts';
