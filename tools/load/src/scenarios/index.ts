import { baseline } from './baseline.ts';
import { read } from './read.ts';
import { send } from './send.ts';
import type { Scenario } from './types.ts';

/** Every scenario `npm run load -- <name>` knows; add new ones here. */
export const scenarios: Record<string, Scenario> = { send, baseline, read };

export type { PreparedScenario, Scenario, ScenarioContext } from './types.ts';
