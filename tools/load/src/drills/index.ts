/** Failure drills (issue 18): `npm run drill -- <drill>`; see tools/load/README.md, "Drills". */
export { DRILLS, type Drill, FAIL_FAST_MS, type FaultRun, LIVE_WITHIN_MS } from './faults.ts';
export { DRILL_NAMES, DRILL_USAGE, type DrillName, type DrillOptions, parseDrillOptions } from './options.ts';
export { type DrillResult, summary } from './report.ts';
export { type DrillHooks, runDrill } from './run.ts';
