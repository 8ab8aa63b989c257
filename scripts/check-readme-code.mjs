#!/usr/bin/env node
// Checks the TypeScript blocks of the READMEs as a user meets them: each ```ts block is
// typechecked against the BUILT packages (node_modules → dist, without the repo's
// `@switchboard/source` condition) with strict + exactOptionalPropertyTypes, nodenext, in a
// "type": "module" project; ```ts partial blocks are skipped visibly. Then each README's quick
// start (its first ts block) runs under Node against real Postgres and Redis started here.
//
//   node scripts/check-readme-code.mjs [--no-run] [--verbose] [--keep] [README.md ...]
//
// --no-run: typecheck only; --verbose: print what each quick start printed; --keep: leave the
// extracted blocks in .readme-code/. A quick start that has not exited after 60 s
// (README_RUN_TIMEOUT_MS) fails.
//
// Needs `npm run build` first. Exit code 1 when any block fails.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { extractBlocks, structureProblems, transpileDecorated, typecheckBlocks } from './readme-code.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Inside the repo so that `@switchboard/*` and the peers resolve through its node_modules, and
// outside node_modules because Node does not strip types there.
const workDir = join(root, '.readme-code');
const RUN_TIMEOUT_MS = Number(process.env.README_RUN_TIMEOUT_MS ?? 60_000);

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'no-run': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

function readmes() {
  if (positionals.length > 0) return positionals.map((file) => resolve(file));
  const files = [join(root, 'README.md')];
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    const file = join(root, 'packages', name, 'README.md');
    if (existsSync(file)) files.push(file);
  }
  return files;
}

function checkBuilt() {
  const missing = [];
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    const manifest = join(root, 'packages', name, 'package.json');
    if (!existsSync(manifest)) continue;
    const dist = join(root, 'packages', name, 'dist');
    if (!existsSync(join(dist, 'index.js')) || !existsSync(join(dist, 'index.d.ts')))
      missing.push(`packages/${name}/dist`);
  }
  if (missing.length > 0) {
    console.error(`check-readme-code: ${missing.join(', ')} missing: run \`npm run build\` first`);
    process.exit(1);
  }
}

function run(block, env) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [block.runPath ?? block.path], {
      cwd: workDir,
      env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const startedAt = Date.now();
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output, ms: Date.now() - startedAt });
    });
  });
}

/** Postgres (primary + 2 replicas, db-router's quick start reads from them) and Redis, on free ports; stopped at exit. */
async function startServers() {
  const { register } = await import('tsx/esm/api');
  register();
  const infra = await import(join(root, 'tools/infra/src/index.ts'));
  const topology = await infra.startTopology({ postgres: { replicas: 2 }, redis: { replicas: 0, sentinels: 0 } });
  return {
    topology,
    async envFor(label) {
      const database = await infra.createTestDatabase(topology.info, `readme_${label}`);
      return {
        DATABASE_URL: database.primary,
        DATABASE_REPLICA_URLS: database.replicas.join(','),
        REDIS_URL: topology.info.redis.master,
      };
    },
  };
}

async function main() {
  checkBuilt();
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, 'package.json'), `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);

  const files = readmes();
  const blocks = files.flatMap((file) => extractBlocks(readFileSync(file, 'utf8'), file));
  const checked = blocks.filter((block) => !block.partial);
  const firstOf = new Set();
  for (const block of blocks) {
    const name = relative(root, block.file)
      .replace(/\/?README\.md$/i, '')
      .replace(/^packages\//, '')
      .replaceAll('/', '-');
    block.name = `${name || 'root'}-${block.line}`;
    block.path = join(workDir, `${block.name}.ts`);
    block.errors = [];
    if (!firstOf.has(block.file)) {
      firstOf.add(block.file);
      block.quickStart = true;
    }
    if (!block.partial) writeFileSync(block.path, block.code);
    if (!block.partial && block.decorators) {
      block.runPath = join(workDir, `${block.name}.mjs`);
      writeFileSync(block.runPath, await transpileDecorated(block));
    }
  }
  const quickStartsPartial = blocks.filter((block) => block.quickStart && block.partial);

  const other = await typecheckBlocks(checked, root);
  let failed = other.length + quickStartsPartial.length;
  for (const block of blocks) {
    const where = `${relative(root, block.file)}:${block.line}`;
    if (block.partial && block.quickStart)
      console.log(`${where} FAIL: the quick start (first ts block) must be complete, not partial`);
    else if (block.partial) console.log(`${where} skipped (partial)`);
    else if (block.errors.length === 0) console.log(`${where} ok`);
    else {
      failed++;
      console.log(`${where} FAIL\n  ${block.errors.join('\n  ')}`);
    }
  }
  for (const message of other) console.log(`FAIL ${message}`);
  for (const file of files) {
    const name = relative(join(root, 'packages'), dirname(file));
    if (name.startsWith('..') || name.includes('/')) continue;
    for (const problem of structureProblems(readFileSync(file, 'utf8'), name)) {
      failed++;
      console.log(`${relative(root, file)} FAIL: ${problem}`);
    }
  }

  const runnable = blocks.filter((block) => block.quickStart && !block.partial && block.errors.length === 0);
  if (!flags['no-run'] && runnable.length > 0) {
    let servers;
    try {
      servers = await startServers();
      for (const block of runnable) {
        const where = `${relative(root, block.file)}:${block.line}`;
        const result = await run(block, await servers.envFor(block.name));
        if (result.code === 0) {
          console.log(`${where} quick start ran (${result.ms} ms)`);
          if (flags.verbose && result.output.trim()) console.log(`  ${result.output.trim().split('\n').join('\n  ')}`);
        } else {
          failed++;
          const why = result.signal
            ? `killed after ${RUN_TIMEOUT_MS} ms (did it close what it opened?)`
            : `exit code ${result.code}`;
          console.log(
            `${where} quick start FAIL: ${why}\n  ${result.output.trim().split('\n').slice(-20).join('\n  ')}`,
          );
        }
      }
    } finally {
      await servers?.topology.stop();
    }
  }

  if (!flags.keep) rmSync(workDir, { recursive: true, force: true });
  const skipped = blocks.filter((block) => block.partial && !block.quickStart).length;
  console.log(
    `\n${checked.length} blocks typechecked, ${skipped} partial skipped${flags['no-run'] ? '' : ', quick starts run'}: ${failed === 0 ? 'ok' : `${failed} failed`}`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
