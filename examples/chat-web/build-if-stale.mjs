#!/usr/bin/env node
// Builds the page (vite build) when dist/ is missing or older than its sources: `npm start` runs
// it first, so a fresh clone serves the page without a separate build step.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const built = join(here, 'dist', 'index.html');

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((name) => join(here, name));
const stale = !existsSync(built) || Math.max(...sources.map(newest)) > statSync(built).mtimeMs;
if (stale) {
  process.stdout.write('chat-web: building the page (vite build)\n');
  const { build } = await import('vite');
  await build({ root: here, logLevel: 'warn' });
}
