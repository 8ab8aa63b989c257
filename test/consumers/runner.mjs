// Runs consumer checks inside one Node process and reports each as a line on stdout:
//   @@check {"id":"auth.redis","ok":true}
// Usage: node runner.mjs <plan.json>, where the plan is [{ id, file, key? }]: `file` is imported
// (a CommonJS file is loaded by Node's CommonJS loader, so its own `require` calls are what a CJS
// consumer does) and its `check` export, or `checks[key]` for a bundle, is awaited. One process per
// setup and Node version keeps the suite fast; a check that kills the process is reported by the
// caller as the plan's remaining ids.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const TIMEOUT_MS = Number(process.env.CONSUMER_CHECK_TIMEOUT_MS ?? 20_000);
const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// A client that errors after its check returned (a lazy Redis client, a pg pool) must not crash
// the process and take the remaining checks with it: it fails the check that is running.
let current;
const stray = (error) => current?.(error);
process.on('uncaughtException', stray);
process.on('unhandledRejection', stray);

function describe(error) {
  if (!(error instanceof Error)) return String(error);
  const code = 'code' in error && error.code ? ` [${error.code}]` : '';
  return `${error.name}${code}: ${error.message}`.split('\n').slice(0, 6).join(' | ');
}

async function runOne(entry) {
  const module = await import(pathToFileURL(entry.file).href);
  const exports = module.checks || module.check ? module : module.default;
  const check = entry.key === undefined ? exports?.check : exports?.checks?.[entry.key];
  if (typeof check !== 'function') throw new Error(`${entry.file} exports no check function`);
  await check();
}

for (const entry of plan) {
  let timer;
  const outcome = await new Promise((resolve) => {
    current = (error) => resolve({ ok: false, error: `uncaught: ${describe(error)}` });
    timer = setTimeout(() => resolve({ ok: false, error: `timed out after ${TIMEOUT_MS} ms` }), TIMEOUT_MS);
    runOne(entry).then(
      () => resolve({ ok: true }),
      (error) => resolve({ ok: false, error: describe(error) }),
    );
  });
  clearTimeout(timer);
  current = undefined;
  process.stdout.write(`@@check ${JSON.stringify({ id: entry.id, ...outcome })}\n`);
}
// Lazy clients and pools may keep handles open; every check has reported.
process.exit(0);
