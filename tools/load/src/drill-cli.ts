// `npm run drill -- <drill> [options]`: failure drills in cluster mode under steady load with
// live subscribers (issue 18). See DRILL_USAGE, and tools/load/README.md ("Drills").
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DRILL_USAGE, parseDrillOptions, runDrill, summary } from './drills/index.ts';
import { UsageError } from './options.ts';

const argv = process.argv.slice(2);
if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(`${DRILL_USAGE}\n`);
  process.exit(argv.length === 0 ? 2 : 0);
}

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals++;
  if (signals > 1) process.exit(130); // the exit hooks still stop the servers
  process.stderr.write(`${signal}: stopping the load, the servers, then PostgreSQL and Redis...\n`);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  const options = parseDrillOptions(argv);
  const { result, dir } = await runDrill(options, {
    log: (line) => process.stderr.write(`${line}\n`),
    signal: controller.signal,
  });
  process.stdout.write(`\n${summary(result)}\n`);
  if (options.json) {
    const path = resolve(options.json);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`wrote ${path}\n`);
  }
  if (options.keep) process.stderr.write(`server logs and data kept in ${dir}\n`);
  process.exit(result.passed ? 0 : 3);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n\n${DRILL_USAGE}\n`);
    process.exit(2);
  }
  const detail =
    error instanceof Error ? (process.env.LOAD_DEBUG ? (error.stack ?? error.message) : error.message) : error;
  process.stderr.write(`drill failed: ${String(detail)}\n`);
  process.exit(controller.signal.aborted ? 130 : 1);
}
