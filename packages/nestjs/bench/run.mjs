// Runs guards.bench.ts compiled by esbuild rather than under tsx: tsx's require hook loads the
// ESM-only NestJS 12 a second time for @nestjs/throttler (a CommonJS package), so its guard would
// look for another Reflector than the application's. Node's own require(esm) shares one instance.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'node_modules', '.cache', 'switchboard-bench');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, 'guards.bench.mjs');
await build({
  entryPoints: [join(here, 'guards.bench.ts')],
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'node',
  target: 'node22',
  outfile,
  tsconfig: join(here, '..', 'tsconfig.json'),
  logLevel: 'warning',
});
const result = spawnSync(process.execPath, [outfile], { stdio: 'inherit' });
process.exitCode = result.status ?? 1;
