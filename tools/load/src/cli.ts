// `npm run load -- <scenario> [options]`: see USAGE, and tools/load/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { runLoad } from './load.ts';
import { parseOptions, USAGE, UsageError } from './options.ts';
import { table } from './results.ts';
import { scenarios } from './scenarios/index.ts';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
  const list = Object.values(scenarios).map((scenario) => `  ${scenario.name.padEnd(10)} ${scenario.summary}`);
  process.stdout.write(`${USAGE}\n\nScenarios:\n${list.join('\n')}\n`);
  process.exit(argv.length === 0 ? 2 : 0);
}

const controller = new AbortController();
let firstSignalAt: number | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  // Under `npm run` a terminal's Ctrl-C arrives twice (from the terminal, and relayed by tsx):
  // only a second Ctrl-C a moment later means "now". The exit hooks still stop the servers.
  if (firstSignalAt !== undefined) {
    if (Date.now() - firstSignalAt > 1000) process.exit(130);
    return;
  }
  firstSignalAt = Date.now();
  process.stderr.write(`${signal}: stopping the servers, then PostgreSQL and Redis...\n`);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const write = (file: string, text: string) => {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
};

try {
  const options = parseOptions(argv);
  const outcome = await runLoad(options, {
    log: (line) => process.stderr.write(`${line}\n`),
    signal: controller.signal,
  });
  const { report } = outcome;
  process.stdout.write(`\n${table(outcome.rows)}\n`);
  if (report.findMax) {
    process.stdout.write(
      `\n${report.scenario}: highest rate that held ${report.findMax.maxRate ?? 'none'}/s (stopped: ${report.findMax.stoppedBecause})\n`,
    );
    if (report.baseline?.findMax) {
      process.stdout.write(`baseline: highest rate that held ${report.baseline.findMax.maxRate ?? 'none'}/s\n`);
    }
  }
  const ratio = report.comparedToBaseline;
  if (ratio) {
    const parts = [
      ratio.maxRate !== undefined ? `max rate ${ratio.maxRate}x` : undefined,
      ratio.cpuPerOp !== null ? `CPU per op ${ratio.cpuPerOp}x` : undefined,
      `p95 ${ratio.p95}x`,
    ].filter(Boolean);
    process.stdout.write(`${report.scenario} / baseline: ${parts.join(', ')}\n`);
  }
  if (Object.keys(report.errorKinds).length) process.stdout.write(`errors: ${JSON.stringify(report.errorKinds)}\n`);
  if (report.acknowledged !== undefined) {
    process.stdout.write(`acknowledged ${report.acknowledged}, in PostgreSQL ${report.persisted}\n`);
  }
  if (options.json) process.stderr.write(`wrote ${write(options.json, `${JSON.stringify(report, null, 2)}\n`)}\n`);
  if (options.svg && outcome.svg) process.stderr.write(`wrote ${write(options.svg, outcome.svg)}\n`);
  if (options.keep) process.stderr.write(`server logs and data kept in ${outcome.dir}\n`);
  process.exit(0);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (controller.signal.aborted) {
    process.stderr.write('stopped\n');
    process.exit(130);
  }
  // LOAD_DEBUG=1: the stack too.
  const detail =
    error instanceof Error ? (process.env.LOAD_DEBUG ? (error.stack ?? error.message) : error.message) : error;
  process.stderr.write(`load failed: ${String(detail)}\n`);
  process.exit(1);
}
