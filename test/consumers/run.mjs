#!/usr/bin/env node
// Consumer tests: every published package packed with `npm pack` and installed from its tarball
// into throwaway projects under the OS temp directory (outside the workspace, so nothing resolves
// from the monorepo's node_modules), then each main entry and subpath imported, typechecked and
// run the way users' setups do. Run `npm run build` first.
//
//   node test/consumers/run.mjs [--node <path>]... [--node-versions 22.12.0,26.12.1]
//                               [--only <setup>,...] [--keep] [--reuse <dir>] [--self-test]
//
// --node adds a Node binary and --node-versions fetches lines with scripts/use-node.sh; the
// current Node always runs too. --only keeps the setups whose name contains one of the words;
// --keep keeps the projects, --reuse <dir> reruns in kept ones without packing or installing.
// --self-test proves the checker fails on deliberately broken fixtures (no packing, ~1 s).
//
// Per entry (exports key of each packages/*/package.json): the tarball holds its files; it
// typechecks (strict, the @switchboard declarations with skipLibCheck off) under TypeScript 5.9
// and the repo's TypeScript with nodenext (ESM and CJS), node16 CJS, bundler, and, on 5.9 only,
// `"module": "commonjs"` (node10); and on every Node binary it runs as CommonJS JavaScript (also
// with --no-experimental-require-module), as ESM JavaScript, as an esbuild bundle, under Jest 29
// and 30 with ts-jest's preset, and, for ./testing, its contract under vitest. The code each run
// executes is test/consumers/checks/<package>[.<subpath>].ts (contracts/ for vitest).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, stripVTControlCharacters } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const runnerFile = join(here, 'runner.mjs');
const typecheckFile = join(here, 'typecheck.cjs');

// Versions the repo itself tests against, so the consumers see what the repo's tests saw.
const PEERS = [
  'graphql',
  'graphql-yoga',
  'ioredis',
  'pg',
  '@types/pg',
  'valibot',
  '@graphql-tools/utils',
  '@escape.tech/graphql-armor',
  'fastify',
  'express',
  '@types/express',
  '@opentelemetry/api',
];
const TYPESCRIPT_5 = '~5.9.3';
const JEST_PROJECTS = {
  jest29: { jest: '^29.7.0', 'ts-jest': '^29.4.0', '@types/jest': '^29.5.0' },
  jest30: { jest: '^30.0.0', 'ts-jest': '^29.4.0', '@types/jest': '^30.0.0' },
};
// Packages whose setups this matrix cannot express, each tested from its packed tarball by its
// own harness instead (NestJS 12 is ESM-only and Nest 11 apps need emitDecoratorMetadata).
const OWN_HARNESS = {
  '@switchboard/nestjs': 'test/nest-apps/run.mjs (Nest 11 CommonJS + tsc + Jest, Nest 12 ESM + tsc + vitest)',
};
// The ./testing subpaths are vitest suites, and vitest refuses to be loaded with require().
const CJS_RUNTIME_SKIP = {
  './testing': 'vitest suites: vitest refuses require(), so only ESM runs load them',
};

function usage() {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  const end = lines.findIndex((line) => !line.startsWith('//'));
  return lines
    .slice(0, end)
    .map((line) => line.replace(/^\/\/ ?/, ''))
    .join('\n');
}

/** Runs a command, never rejects: { code, stdout, stderr, ms }. */
export function run(command, args, { cwd = root, env = process.env, input } = {}) {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', (error) =>
      done({ code: -1, stdout, stderr: `${stderr}${error.message}`, ms: Date.now() - started }),
    );
    child.on('close', (code, signal) => done({ code: code ?? `${signal}`, stdout, stderr, ms: Date.now() - started }));
    child.stdin.end(input);
  });
}

export async function inParallel(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// `npm run` describes the repo to its children (its package, its prefix, a workspace flag): the
// throwaway projects must not inherit that. User settings (cache, registry) pass through.
const REPO_NPM_ENV =
  /^npm_(package_|lifecycle_|command$|config_(local_prefix|prefix|workspaces?|include_workspace_root)$)/i;
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!REPO_NPM_ENV.test(key) && key !== 'INIT_CWD') env[key] = value;
  }
  return { ...env, ...extra };
}

export const tail = (text, lines = 15) => text.trim().split('\n').slice(-lines).join('\n');
const stripAnsi = (text) => stripVTControlCharacters(text);
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

export function readPackages(packagesDir) {
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((dirent) => dirent.isDirectory() && existsSync(join(packagesDir, dirent.name, 'package.json')))
    .map((dirent) => {
      const dir = join(packagesDir, dirent.name);
      const manifest = readJson(join(dir, 'package.json'));
      const entries = Object.entries(manifest.exports ?? {})
        .filter(([, target]) => typeof target === 'object')
        .map(([sub, target]) => ({
          pkg: dirent.name,
          sub,
          spec: sub === '.' ? manifest.name : `${manifest.name}/${sub.slice(2)}`,
          id: sub === '.' ? dirent.name : `${dirent.name}.${sub.slice(2).replaceAll('/', '.')}`,
          target,
        }));
      return { dir, name: manifest.name, version: manifest.version, manifest, entries };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function missingBuildFiles(packages) {
  const missing = [];
  for (const pkg of packages) {
    for (const entry of pkg.entries) {
      const files = [];
      const collect = (value) => {
        if (typeof value === 'string') {
          if (!value.startsWith('./src/')) files.push(value);
        } else if (value && typeof value === 'object') {
          for (const inner of Object.values(value)) collect(inner);
        }
      };
      collect(entry.target);
      for (const file of files) {
        if (!existsSync(join(pkg.dir, file))) missing.push(relative(root, join(pkg.dir, file)));
      }
    }
  }
  return missing;
}

function createReport() {
  const results = [];
  const add = (result) => {
    results.push(result);
    const status = result.status.padEnd(4);
    const node = (result.node ?? '-').padEnd(9);
    const detail = result.detail ? `  ${result.detail}` : '';
    process.stdout.write(`${status}  ${result.setup.padEnd(30)} ${node} ${result.spec}${detail}\n`);
  };
  return { results, add };
}

/** Parses `tsc --pretty false` output into { file, code, message } (file relative to cwd). */
function parseTscOutput(output) {
  const diagnostics = [];
  for (const line of output.split('\n')) {
    const located = /^(.+?)\(\d+,\d+\): error (TS\d+): (.*)$/.exec(line);
    const global = /^error (TS\d+): (.*)$/.exec(line);
    if (located) diagnostics.push({ file: located[1], code: located[2], message: located[3] });
    else if (global) diagnostics.push({ file: undefined, code: global[1], message: global[2] });
    else if (/^\s+\S/.test(line) && diagnostics.length > 0) diagnostics.at(-1).message += ` ${line.trim()}`;
  }
  return diagnostics;
}

/**
 * Which entries of an installed package reach each of its declaration files: an error in a
 * shared chunk (`dist/auth-B39ZeAdG.d.cts`) belongs to every entry whose types import it.
 */
function declarationOwners(installedDir, entries) {
  const owners = new Map();
  const visit = (file, entry, seen) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    if (!owners.has(file)) owners.set(file, new Set());
    owners.get(file).add(entry.id);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), match[1]).replace(/\.c?js$/, (ext) =>
        ext === '.cjs' ? '.d.cts' : '.d.ts',
      );
      visit(target, entry, seen);
    }
  };
  for (const entry of entries) {
    const typesFiles = [];
    const collect = (value, key) => {
      if (typeof value === 'string' && key === 'types') typesFiles.push(value);
      else if (value && typeof value === 'object') for (const [k, inner] of Object.entries(value)) collect(inner, k);
    };
    collect(entry.target, '');
    const seen = new Set();
    for (const types of typesFiles) visit(join(installedDir, types), entry, seen);
  }
  return owners;
}

/** Maps each diagnostic to entry ids: its own check file, or the entries whose types reach the file. */
function attributeDiagnostics(diagnostics, { projectDir, entries, installedDirOf }) {
  const byId = new Map(entries.map((entry) => [entry.id, []]));
  const unattributed = [];
  const ownersCache = new Map();
  for (const diagnostic of diagnostics) {
    const text = `${diagnostic.code}: ${diagnostic.message}`;
    if (!diagnostic.file) {
      unattributed.push(text);
      continue;
    }
    const file = resolve(projectDir, diagnostic.file);
    const own = /[/\\]src[/\\]([^/\\]+)\.ts$/.exec(file);
    if (own && byId.has(own[1]) && !file.includes(`${sep}node_modules${sep}`)) {
      byId.get(own[1]).push(text);
      continue;
    }
    const scoped = /[/\\]node_modules[/\\](@switchboard[/\\][^/\\]+)[/\\]/.exec(file);
    if (scoped) {
      const name = scoped[1].replace('\\', '/');
      const pkgEntries = entries.filter((entry) => entry.spec === name || entry.spec.startsWith(`${name}/`));
      if (!ownersCache.has(name)) ownersCache.set(name, declarationOwners(installedDirOf(name), pkgEntries));
      const owners = ownersCache.get(name).get(file);
      const where = `${basename(file)}: ${text}`;
      if (owners) {
        for (const id of owners) byId.get(id).push(where);
        continue;
      }
    }
    unattributed.push(`${relative(projectDir, file)}: ${text}`);
  }
  return { byId, unattributed };
}

export function repoVersion(name) {
  return readJson(join(root, 'node_modules', name, 'package.json')).version;
}

export function writeJson(file, value) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

export async function pack(packages, destination) {
  mkdirSync(destination, { recursive: true });
  const packed = await inParallel(packages, 4, async (pkg) => {
    const result = await run('npm', ['pack', '--pack-destination', destination, '--silent'], {
      cwd: pkg.dir,
      env: cleanEnv(),
    });
    const file = join(destination, `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`);
    if (result.code !== 0 || !existsSync(file)) {
      throw new Error(`npm pack failed in ${relative(root, pkg.dir)}:\n${tail(result.stderr || result.stdout)}`);
    }
    return [pkg.name, file];
  });
  return Object.fromEntries(packed);
}

function projectManifests(tarballs) {
  const packages = Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]));
  const peers = Object.fromEntries(PEERS.map((name) => [name, repoVersion(name)]));
  const nodeTypes = { '@types/node': repoVersion('@types/node') };
  const app = {
    name: 'switchboard-consumer-app',
    private: true,
    dependencies: {
      ...packages,
      ...peers,
      ...nodeTypes,
      typescript: TYPESCRIPT_5,
      typescript6: `npm:typescript@${repoVersion('typescript')}`,
      esbuild: repoVersion('esbuild'),
      // Only for the ./testing subpaths, which import vitest.
      vitest: repoVersion('vitest'),
    },
  };
  const jest = Object.fromEntries(
    Object.entries(JEST_PROJECTS).map(([key, tools]) => [
      key,
      {
        name: `switchboard-consumer-${key}`,
        private: true,
        dependencies: { ...packages, ...peers, ...nodeTypes, typescript: TYPESCRIPT_5, ...tools },
        jest: { preset: 'ts-jest' },
      },
    ]),
  );
  return { app, ...jest };
}

async function install(dir) {
  const result = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: dir,
    env: cleanEnv(),
  });
  const warnings = `${result.stderr}`
    .split('\n')
    .filter((line) => /EBADENGINE|ERESOLVE|deprecated/.test(line) && !/npm warn deprecated (inflight|glob)/.test(line));
  return { ...result, warnings };
}

const TS_BASE = {
  strict: true,
  skipLibCheck: false,
  target: 'ES2022',
  lib: ['ES2022'],
  types: ['node'],
  noEmit: true,
  forceConsistentCasingInFileNames: true,
};

const TS_SETUPS = [
  { dir: 'nodenext-esm', type: 'module', options: { module: 'nodenext', moduleResolution: 'nodenext' } },
  { dir: 'nodenext-cjs', type: 'commonjs', options: { module: 'nodenext', moduleResolution: 'nodenext' } },
  // TypeScript 5.8+ lets nodenext CommonJS require ESM (as Node 22 does); node16 still refuses
  // (TS1479), as every TypeScript before 5.8 does.
  { dir: 'node16-cjs', type: 'commonjs', options: { module: 'node16', moduleResolution: 'node16' } },
  // What `"module": "commonjs"` means on TypeScript 5 (NestJS <= 11 apps): node10 resolution.
  {
    dir: 'node10',
    type: 'commonjs',
    options: { module: 'commonjs', esModuleInterop: true },
    ts6: false,
  },
  { dir: 'bundler', type: 'module', options: { module: 'esnext', moduleResolution: 'bundler' } },
];

function writeSetups(appDir, entries, checkSources) {
  for (const setup of TS_SETUPS) {
    const dir = join(appDir, setup.dir);
    rmSync(dir, { recursive: true, force: true });
    writeJson(join(dir, 'package.json'), { type: setup.type });
    writeJson(join(dir, 'tsconfig.json'), { compilerOptions: { ...TS_BASE, ...setup.options }, include: ['src'] });
    mkdirSync(join(dir, 'src'), { recursive: true });
    for (const entry of entries) writeFileSync(join(dir, 'src', `${entry.id}.ts`), checkSources.get(entry.id));
  }
}

async function writeJavaScript(appDir, entries, checkSources) {
  const esbuild = createRequire(join(appDir, 'package.json'))('esbuild');
  // Types stripped only: each file is the plain JavaScript app that `require`s (CommonJS) or
  // `import`s (ESM) the packages, as users write it.
  for (const [dir, format, extension] of [
    ['cjs-js', 'cjs', '.cjs'],
    ['esm-js', 'esm', '.mjs'],
  ]) {
    rmSync(join(appDir, dir), { recursive: true, force: true });
    mkdirSync(join(appDir, dir), { recursive: true });
    for (const entry of entries) {
      const { code } = await esbuild.transform(checkSources.get(entry.id), { loader: 'ts', format, target: 'node22' });
      writeFileSync(join(appDir, dir, `${entry.id}${extension}`), code);
    }
  }
}

async function bundle(appDir, entries) {
  const esbuild = createRequire(join(appDir, 'package.json'))('esbuild');
  const dir = join(appDir, 'bundler');
  const options = {
    absWorkingDir: dir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outdir: join(dir, 'bundle'),
    outExtension: { '.js': '.mjs' },
    // Native addons and the test runner are never bundled; CommonJS dependencies inside an ESM
    // bundle need a real `require` for Node's built-ins.
    external: ['@node-rs/argon2', 'pg-native', 'vitest'],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'silent',
  };
  const failed = new Map();
  const build = async (list) => {
    try {
      await esbuild.build({ ...options, entryPoints: list.map((entry) => join(dir, 'src', `${entry.id}.ts`)) });
      return true;
    } catch (error) {
      if (list.length === 1) {
        const messages = (error.errors ?? [error]).slice(0, 3).map((e) => e.text ?? e.message);
        failed.set(list[0].id, `esbuild: ${messages.join(' | ')}`);
      }
      return false;
    }
  };
  // One build for all; only when it fails, one per entry to tell which failed.
  if (!(await build(entries))) for (const entry of entries) await build([entry]);
  return failed;
}

async function runPlan({ node, nodeArgs = [], plan, cwd, env }) {
  const planFile = join(cwd, `.plan-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  const result = await run(node, [...nodeArgs, runnerFile, planFile], { cwd, env: env ?? cleanEnv() });
  rmSync(planFile, { force: true });
  const outcomes = new Map();
  for (const line of result.stdout.split('\n')) {
    if (line.startsWith('@@check ')) {
      const outcome = JSON.parse(line.slice('@@check '.length));
      outcomes.set(outcome.id, outcome);
    }
  }
  for (const entry of plan) {
    if (!outcomes.has(entry.id)) {
      const why = tail(stripAnsi(result.stderr), 3).replaceAll('\n', ' | ');
      outcomes.set(entry.id, { id: entry.id, ok: false, error: `runner exited (${result.code}) before it: ${why}` });
    }
  }
  return outcomes;
}

async function runJest({ node, projectDir, entries }) {
  // Several Node versions may run one project's Jest at once: each writes its own report.
  const output = join(projectDir, `jest-results-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  rmSync(output, { force: true });
  const result = await run(
    node,
    [
      join(projectDir, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--ci',
      '--json',
      `--outputFile=${output}`,
      `--cacheDirectory=${join(projectDir, '.jest-cache')}`,
      '--forceExit',
      '--testTimeout=20000',
    ],
    { cwd: projectDir, env: cleanEnv() },
  );
  const outcomes = new Map();
  if (existsSync(output)) {
    const report = readJson(output);
    rmSync(output, { force: true });
    const idOf = new Map(entries.map((entry) => [entry.spec, entry.id]));
    for (const file of report.testResults ?? []) {
      for (const assertion of file.assertionResults ?? []) {
        const id = idOf.get(assertion.title);
        if (!id) continue;
        const ok = assertion.status === 'passed';
        const details = (assertion.failureDetails ?? []).map(
          (detail) => detail?.diagnosticText ?? detail?.message ?? '',
        );
        const message = stripAnsi([...assertion.failureMessages, ...details].join('\n'))
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line && !line.startsWith('at ') && !/^[●›]/.test(line))
          .slice(0, 4)
          .join(' | ');
        outcomes.set(id, { id, ok, error: ok ? undefined : message || `jest status ${assertion.status}` });
      }
      if (file.status !== 'passed' && (file.assertionResults ?? []).length === 0) {
        const message = stripAnsi(file.message ?? '')
          .trim()
          .split('\n')
          .slice(0, 4)
          .join(' | ');
        for (const entry of entries) outcomes.set(entry.id, { id: entry.id, ok: false, error: message });
      }
    }
  }
  for (const entry of entries) {
    if (!outcomes.has(entry.id)) {
      const why = tail(stripAnsi(result.stderr), 4).replaceAll('\n', ' | ');
      outcomes.set(entry.id, { id: entry.id, ok: false, error: `no jest result (exit ${result.code}): ${why}` });
    }
  }
  return outcomes;
}

function writeJestProject(projectDir, entries, checkSources) {
  for (const sub of ['src', 'test']) rmSync(join(projectDir, sub), { recursive: true, force: true });
  // What `nest new` generates for ts-jest (CommonJS, TypeScript 5's node10 resolution), strict.
  writeJson(join(projectDir, 'tsconfig.json'), {
    compilerOptions: {
      module: 'commonjs',
      target: 'ES2021',
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node', 'jest'],
    },
  });
  mkdirSync(join(projectDir, 'src'), { recursive: true });
  mkdirSync(join(projectDir, 'test'), { recursive: true });
  for (const entry of entries) writeFileSync(join(projectDir, 'src', `${entry.id}.ts`), checkSources.get(entry.id));
  // One test file (one ts-jest language service): each entry is loaded inside its own test, so
  // an entry that fails to load or to typecheck fails only its test.
  const table = entries.map((entry) => `  [${JSON.stringify(entry.spec)}, ${JSON.stringify(entry.id)}],`).join('\n');
  writeFileSync(
    join(projectDir, 'test', 'consumer.test.ts'),
    `const entries: [string, string][] = [\n${table}\n];\n\n` +
      "test.each(entries)('%s', async (_spec, id) => {\n" +
      "  const { check } = (await import('../src/' + id)) as { check: () => Promise<void> };\n" +
      '  await check();\n' +
      '});\n',
  );
}

function writeContracts(dir, contractSources) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [id, source] of contractSources) writeFileSync(join(dir, `${id}.test.ts`), source);
}

/** The ./testing contracts run by the vitest they are written for, over memory implementations. */
async function runVitest({ node, dir, entries }) {
  const output = join(dir, `vitest-results-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const vitest = join(dir, '..', 'node_modules', 'vitest', 'vitest.mjs');
  const files = entries.map((entry) => `${entry.id}.test.ts`);
  const result = await run(node, [vitest, 'run', '--reporter=json', `--outputFile=${output}`, ...files], {
    cwd: dir,
    env: cleanEnv({ CI: '1' }),
  });
  const outcomes = new Map();
  if (existsSync(output)) {
    const report = readJson(output);
    rmSync(output, { force: true });
    for (const file of report.testResults ?? []) {
      const id = basename(file.name).replace(/\.test\.ts$/, '');
      const assertions = file.assertionResults ?? [];
      const failed = assertions.filter((assertion) => assertion.status !== 'passed');
      const ok = file.status === 'passed' && assertions.length > 0 && failed.length === 0;
      const why =
        failed.length > 0
          ? `${failed.length}/${assertions.length} failed: ${failed[0].fullName}: ${failed[0].failureMessages?.[0] ?? ''}`
          : file.message;
      outcomes.set(id, {
        id,
        ok,
        error: ok
          ? undefined
          : stripAnsi(why || `vitest status ${file.status}`)
              .split('\n')
              .slice(0, 3)
              .join(' | '),
      });
    }
  }
  for (const entry of entries) {
    if (!outcomes.has(entry.id)) {
      const why = tail(stripAnsi(`${result.stdout}\n${result.stderr}`), 4).replaceAll('\n', ' | ');
      outcomes.set(entry.id, { id: entry.id, ok: false, error: `no vitest result (exit ${result.code}): ${why}` });
    }
  }
  return outcomes;
}

async function resolveNodes(paths, versions) {
  const nodes = [process.execPath, ...paths];
  for (const version of versions) {
    const result = await run('bash', [
      '-c',
      'SWITCHBOARD_NODE_VERSION="$1" source scripts/use-node.sh >&2 && command -v node',
      'bash',
      version,
    ]);
    const path = result.stdout.trim().split('\n').at(-1);
    if (result.code !== 0 || !path) throw new Error(`cannot get Node ${version}:\n${tail(result.stderr)}`);
    nodes.push(path);
  }
  const byVersion = new Map();
  for (const path of nodes) {
    const result = await run(path, ['-p', 'process.version']);
    if (result.code !== 0) throw new Error(`${path} does not run: ${tail(result.stderr)}`);
    byVersion.set(result.stdout.trim(), path);
  }
  return [...byVersion].map(([version, path]) => ({ version, path }));
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string', multiple: true, default: [] },
      'node-versions': { type: 'string', default: '' },
      only: { type: 'string', default: '' },
      keep: { type: 'boolean', default: false },
      reuse: { type: 'string' },
      'self-test': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (values['self-test']) return selfTest();

  const started = Date.now();
  const phases = [];
  const timings = [];
  const phase = (name, since) => phases.push(`${name} ${((Date.now() - since) / 1000).toFixed(1)}s`);
  const only = new Set(values.only.split(',').filter(Boolean));
  const wanted = (setup) => only.size === 0 || [...only].some((name) => setup.includes(name));

  const packages = readPackages(join(root, 'packages')).filter((pkg) => !OWN_HARNESS[pkg.name]);
  // With --reuse the installed tarballs are tested, whatever the workspace's dist holds now.
  const missing = values.reuse ? [] : missingBuildFiles(packages);
  if (missing.length > 0) {
    process.stderr.write(`Build output missing (run \`npm run build\` first):\n  ${missing.join('\n  ')}\n`);
    return 2;
  }
  const entries = packages.flatMap((pkg) => pkg.entries);
  const report = createReport();

  const checksDir = join(here, 'checks');
  const checkSources = new Map();
  for (const entry of entries) {
    const file = join(checksDir, `${entry.id}.ts`);
    if (existsSync(file)) checkSources.set(entry.id, readFileSync(file, 'utf8'));
    else report.add({ setup: 'checks', spec: entry.spec, status: 'FAIL', detail: `no ${relative(root, file)}` });
  }
  for (const file of readdirSync(checksDir)) {
    if (!entries.some((entry) => `${entry.id}.ts` === file)) {
      report.add({ setup: 'checks', spec: file, status: 'FAIL', detail: 'no such export in any package.json' });
    }
  }
  const checked = entries.filter((entry) => checkSources.has(entry.id));
  const contractsDir = join(here, 'contracts');
  const contractSources = new Map();
  for (const file of readdirSync(contractsDir)) {
    const entry = entries.find((candidate) => `${candidate.id}.ts` === file);
    if (entry?.sub === './testing') contractSources.set(entry.id, readFileSync(join(contractsDir, file), 'utf8'));
    else report.add({ setup: 'contracts', spec: file, status: 'FAIL', detail: 'no ./testing export of that name' });
  }

  let since = Date.now();
  const nodes = await resolveNodes(values.node, values['node-versions'].split(',').filter(Boolean));
  phase('node binaries', since);
  process.stdout.write(`Node binaries: ${nodes.map((node) => `${node.version} (${node.path})`).join(', ')}\n`);

  const work = values.reuse ?? mkdtempSync(join(tmpdir(), 'switchboard-consumers-'));
  process.stdout.write(`Projects in ${work}\n`);
  const projects = { app: join(work, 'app'), jest29: join(work, 'jest29'), jest30: join(work, 'jest30') };
  const jestKeys = Object.keys(JEST_PROJECTS).filter(wanted);
  const installed = new Map();
  if (values.reuse) {
    for (const [key, dir] of Object.entries(projects)) installed.set(key, existsSync(join(dir, 'node_modules')));
  } else {
    since = Date.now();
    const tarballs = await pack(packages, join(work, 'tarballs'));
    phase('npm pack', since);
    since = Date.now();
    const manifests = projectManifests(tarballs);
    const keys = ['app', ...jestKeys];
    const results = await inParallel(keys, 3, async (key) => {
      writeJson(join(projects[key], 'package.json'), manifests[key]);
      return install(projects[key]);
    });
    keys.forEach((key, index) => {
      const result = results[index];
      installed.set(key, result.code === 0);
      for (const warning of result.warnings) process.stdout.write(`warn  npm install (${key}): ${warning}\n`);
      if (result.code !== 0) {
        report.add({ setup: `npm install ${key}`, spec: '-', status: 'FAIL', detail: tail(result.stderr, 8) });
      }
    });
    phase('npm install', since);
  }
  const installedDirOf = (name) => join(projects.app, 'node_modules', name);
  if (installed.get('app')) {
    // What the tarball holds, as installed: every file its exports map names, for every entry.
    for (const entry of checked) {
      const name = entry.spec.split('/').slice(0, 2).join('/');
      const manifest = readJson(join(installedDirOf(name), 'package.json'));
      const target = manifest.exports?.[entry.sub];
      const files = [];
      const collect = (value) => {
        if (typeof value === 'string') files.push(value);
        else if (value && typeof value === 'object') for (const inner of Object.values(value)) collect(inner);
      };
      collect(target);
      const absent = files.filter((file) => !existsSync(join(installedDirOf(name), file)));
      const detail =
        target === undefined
          ? 'not in the packed exports map'
          : absent.length > 0
            ? `missing ${absent.join(', ')}`
            : '';
      report.add({ setup: 'tarball contents', spec: entry.spec, status: detail ? 'FAIL' : 'ok', detail });
    }
  }

  const typechecks = [];
  const runtimes = [];
  if (installed.get('app')) {
    since = Date.now();
    writeSetups(projects.app, checked, checkSources);
    await writeJavaScript(projects.app, checked, checkSources);
    const versions = {
      5: readJson(join(projects.app, 'node_modules/typescript/package.json')).version,
      6: readJson(join(projects.app, 'node_modules/typescript6/package.json')).version,
    };
    // One process per compiler, every configuration in it (they share parsed declarations).
    for (const major of [5, 6]) {
      const configs = TS_SETUPS.filter((setup) => major === 5 || setup.ts6 !== false)
        .map((setup) => ({
          name: `types ${setup.dir} (ts ${versions[major]})`,
          tsconfig: `${setup.dir}/tsconfig.json`,
        }))
        .filter((config) => wanted(config.name));
      if (configs.length === 0) continue;
      const typescript = join(projects.app, 'node_modules', major === 5 ? 'typescript' : 'typescript6');
      typechecks.push({ major, configs, args: [typecheckFile, typescript, ...configs.map((c) => c.tsconfig)] });
    }
    await inParallel(typechecks, 2, async (job) => {
      const result = await run(process.execPath, job.args, { cwd: projects.app, env: cleanEnv() });
      timings.push(`typecheck ts ${versions[job.major]} ${(result.ms / 1000).toFixed(1)}s`);
      const sections = new Map();
      let section;
      for (const line of result.stdout.split('\n')) {
        if (line.startsWith('### ')) {
          section = line.slice(4);
          sections.set(section, []);
        } else if (section) sections.get(section).push(line);
      }
      for (const config of job.configs) {
        if (!sections.has(config.tsconfig)) {
          const why = tail(`${result.stdout}\n${result.stderr}`, 5);
          report.add({ setup: config.name, spec: '(typescript)', status: 'FAIL', detail: why });
          continue;
        }
        const diagnostics = parseTscOutput(sections.get(config.tsconfig).join('\n'));
        const { byId, unattributed } = attributeDiagnostics(diagnostics, {
          projectDir: projects.app,
          entries: checked,
          installedDirOf,
        });
        for (const entry of checked) {
          const errors = byId.get(entry.id);
          report.add({
            setup: config.name,
            spec: entry.spec,
            status: errors.length === 0 ? 'ok' : 'FAIL',
            detail: errors.slice(0, 3).join(' || '),
          });
        }
        for (const text of unattributed) {
          report.add({ setup: config.name, spec: '(other)', status: 'FAIL', detail: text });
        }
      }
      if (result.code !== 0) {
        report.add({
          setup: `typecheck ts ${versions[job.major]}`,
          spec: '-',
          status: 'FAIL',
          detail: tail(result.stderr, 5),
        });
      }
    });
    phase('typecheck', since);

    since = Date.now();
    const bundleFailures = wanted('bundle') ? await bundle(projects.app, checked) : new Map();
    phase('esbuild', since);

    const planOf = (dir, file) => (entry) => ({ id: entry.id, file: join(projects.app, dir, file(entry)) });
    runtimes.push(
      { setup: 'run cjs (require)', entries: checked, plan: planOf('cjs-js', (e) => `${e.id}.cjs`), cjs: true },
      {
        setup: 'run cjs --no-require-module',
        entries: checked,
        plan: planOf('cjs-js', (e) => `${e.id}.cjs`),
        cjs: true,
        nodeArgs: ['--no-experimental-require-module'],
      },
      { setup: 'run esm (import)', entries: checked, plan: planOf('esm-js', (e) => `${e.id}.mjs`) },
      {
        setup: 'run bundle (esbuild)',
        entries: checked,
        plan: planOf('bundler/bundle', (e) => `${e.id}.mjs`),
        failed: bundleFailures,
      },
    );
    if (wanted('vitest')) writeContracts(join(projects.app, 'vitest-contracts'), contractSources);
    runtimes.push({
      setup: 'run vitest (./testing contracts)',
      entries: checked.filter((entry) => entry.sub === './testing'),
      vitest: join(projects.app, 'vitest-contracts'),
      contracts: contractSources,
    });
  } else {
    report.add({
      setup: 'app project',
      spec: '-',
      status: 'FAIL',
      detail: 'not installed: nothing typechecked or run',
    });
  }

  for (const key of jestKeys) {
    if (!installed.get(key)) {
      report.add({ setup: `run ${key}`, spec: '-', status: 'FAIL', detail: 'project not installed' });
      continue;
    }
    writeJestProject(
      projects[key],
      checked.filter((entry) => !CJS_RUNTIME_SKIP[entry.sub]),
      checkSources,
    );
    runtimes.push({ setup: `run ${key} (ts-jest)`, entries: checked, jest: projects[key], cjs: true });
  }

  since = Date.now();
  const jobs = [];
  // Node by node: the first Node's Jest runs fill the projects' transform caches for the others.
  for (const node of nodes) {
    for (const runtime of runtimes.filter((candidate) => wanted(candidate.setup))) jobs.push({ runtime, node });
  }
  await inParallel(jobs, 2, async ({ runtime, node }) => {
    const jobStarted = Date.now();
    const skipped = new Map();
    for (const entry of runtime.entries) {
      if (runtime.cjs && CJS_RUNTIME_SKIP[entry.sub]) skipped.set(entry.id, CJS_RUNTIME_SKIP[entry.sub]);
      if (runtime.failed?.has(entry.id)) skipped.set(entry.id, undefined);
      if (runtime.contracts && !runtime.contracts.has(entry.id)) {
        skipped.set(entry.id, `no contracts/${entry.id}.ts: no implementation to run it against without a server`);
      }
    }
    const toRun = runtime.entries.filter((entry) => !skipped.has(entry.id));
    let outcomes;
    if (runtime.nodeArgs) {
      const probe = await run(node.path, [...runtime.nodeArgs, '-e', '0']);
      if (probe.code !== 0) {
        for (const entry of runtime.entries) {
          report.add({
            setup: runtime.setup,
            node: node.version,
            spec: entry.spec,
            status: 'skip',
            detail: `${runtime.nodeArgs.join(' ')} not accepted by this Node`,
          });
        }
        return;
      }
    }
    if (runtime.jest) outcomes = await runJest({ node: node.path, projectDir: runtime.jest, entries: toRun });
    else if (runtime.vitest) outcomes = await runVitest({ node: node.path, dir: runtime.vitest, entries: toRun });
    else {
      outcomes = await runPlan({
        node: node.path,
        nodeArgs: runtime.nodeArgs,
        plan: toRun.map(runtime.plan),
        cwd: projects.app,
      });
    }
    for (const entry of runtime.entries) {
      const base = { setup: runtime.setup, node: node.version, spec: entry.spec };
      if (runtime.failed?.has(entry.id)) {
        report.add({ ...base, status: 'FAIL', detail: runtime.failed.get(entry.id) });
      } else if (skipped.has(entry.id)) {
        report.add({ ...base, status: 'skip', detail: skipped.get(entry.id) });
      } else {
        const outcome = outcomes.get(entry.id);
        report.add({ ...base, status: outcome.ok ? 'ok' : 'FAIL', detail: outcome.error });
      }
    }
    timings.push(`${runtime.setup} on ${node.version} ${((Date.now() - jobStarted) / 1000).toFixed(1)}s`);
  });
  phase('run', since);

  if (!values.keep && !values.reuse) rmSync(work, { recursive: true, force: true });
  else process.stdout.write(`Kept ${work} (reuse it with --reuse ${work})\n`);
  process.stdout.write(`\nTimings: ${timings.join(', ')}\n`);
  return summarize(report.results, `${phases.join(', ')}; total ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

function summarize(results, timing) {
  const count = (status) => results.filter((result) => result.status === status).length;
  const failures = results.filter((result) => result.status === 'FAIL');
  process.stdout.write(`\n${count('ok')} ok, ${failures.length} failed, ${count('skip')} skipped (${timing})\n`);
  if (failures.length > 0) {
    process.stdout.write('Failures:\n');
    const groups = new Map();
    for (const failure of failures) {
      const key = `${failure.setup}${failure.node ? ` on ${failure.node}` : ''}`;
      groups.set(key, [...(groups.get(key) ?? []), failure.spec]);
    }
    for (const [key, specs] of groups) process.stdout.write(`  ${key}: ${specs.join(', ')}\n`);
  }
  return failures.length > 0 || results.length === 0 ? 1 : 0;
}

/**
 * A suite that cannot fail proves nothing: runs the runner on fixtures that pass, throw, hang,
 * miss a dependency or kill the process, and the typecheck attribution on a made-up package, and
 * fails unless each is classified as it should be.
 */
async function selfTest() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-consumers-self-test-'));
  const problems = [];
  const expect = (what, actual, expected) => {
    if (actual !== expected) problems.push(`${what}: expected ${expected}, got ${actual}`);
  };
  try {
    const fixtures = {
      'passes.cjs': 'exports.check = async () => {};',
      'throws.cjs': "exports.check = async () => { throw new Error('deliberately broken'); };",
      'missing-dependency.cjs': "require('@switchboard/not-a-package'); exports.check = async () => {};",
      'esm-passes.mjs': 'export async function check() {}',
      'no-check.mjs': 'export const value = 1;',
      'hangs.mjs': 'export function check() { return new Promise(() => {}); }',
      'late-error.mjs':
        "export async function check() { setTimeout(() => { throw new Error('late'); }, 0); await new Promise((r) => setTimeout(r, 50)); }",
      'bundle.mjs':
        "export const checks = { good: async () => {}, bad: async () => { throw new TypeError('bundled failure'); } };",
      'exits.mjs': 'export async function check() { process.exit(3); }',
      'never-reached.cjs': 'exports.check = async () => {};',
    };
    for (const [file, code] of Object.entries(fixtures)) writeFileSync(join(dir, file), code);
    const plan = [
      ...Object.keys(fixtures)
        .filter((file) => file !== 'bundle.mjs')
        .map((file) => ({ id: file, file: join(dir, file) })),
    ];
    const exitsAt = plan.findIndex((entry) => entry.id === 'exits.mjs');
    plan.splice(exitsAt, 0, { id: 'bundle:good', file: join(dir, 'bundle.mjs'), key: 'good' });
    plan.splice(exitsAt + 1, 0, { id: 'bundle:bad', file: join(dir, 'bundle.mjs'), key: 'bad' });
    const outcomes = await runPlan({
      node: process.execPath,
      plan,
      cwd: dir,
      env: cleanEnv({ CONSUMER_CHECK_TIMEOUT_MS: '500' }),
    });
    const expected = {
      'passes.cjs': true,
      'throws.cjs': false,
      'missing-dependency.cjs': false,
      'esm-passes.mjs': true,
      'no-check.mjs': false,
      'hangs.mjs': false,
      'late-error.mjs': false,
      'bundle:good': true,
      'bundle:bad': false,
      'exits.mjs': false,
      'never-reached.cjs': false,
    };
    for (const [id, ok] of Object.entries(expected)) expect(`runner: ${id}`, outcomes.get(id)?.ok, ok);
    expect('error text', /deliberately broken/.test(outcomes.get('throws.cjs')?.error ?? ''), true);
    expect('timeout text', /timed out/.test(outcomes.get('hangs.mjs')?.error ?? ''), true);
    expect('exit text', /runner exited \(3\)/.test(outcomes.get('never-reached.cjs')?.error ?? ''), true);

    // Typecheck attribution: an error in a shared declaration chunk fails exactly the entries
    // whose types import it.
    const installed = join(dir, 'node_modules', '@switchboard', 'demo');
    mkdirSync(join(installed, 'dist'), { recursive: true });
    writeFileSync(join(installed, 'dist', 'index.d.cts'), "export { a } from './shared-X.cjs';\n");
    writeFileSync(join(installed, 'dist', 'redis.d.cts'), 'export declare const b: 1;\n');
    writeFileSync(join(installed, 'dist', 'shared-X.d.cts'), 'export declare const a: 1;\n');
    const demoEntries = [
      { id: 'demo', spec: '@switchboard/demo', target: { require: { types: './dist/index.d.cts' } } },
      { id: 'demo.redis', spec: '@switchboard/demo/redis', target: { require: { types: './dist/redis.d.cts' } } },
    ];
    const tscOutput = [
      "node_modules/@switchboard/demo/dist/shared-X.d.cts(1,10): error TS1479: The current file is a CommonJS module whose imports will produce 'require' calls;",
      "  however, the referenced file is an ECMAScript module and cannot be imported with 'require'.",
      "src/demo.redis.ts(1,20): error TS2307: Cannot find module '@switchboard/demo/redis' or its corresponding type declarations.",
      'error TS5110: a global error',
    ].join('\n');
    const { byId, unattributed } = attributeDiagnostics(parseTscOutput(tscOutput), {
      projectDir: dir,
      entries: demoEntries,
      installedDirOf: () => installed,
    });
    expect(
      'chunk error → main entry',
      byId.get('demo')?.[0]?.includes('TS1479') && /cannot be imported/.test(byId.get('demo')[0]),
      true,
    );
    expect('own file error → subpath', byId.get('demo.redis')?.[0]?.startsWith('TS2307'), true);
    expect('subpath count', byId.get('demo.redis')?.length, 1);
    expect('global error', unattributed.length, 1);

    const quiet = process.stdout.write;
    process.stdout.write = () => true;
    const failing = summarize([{ setup: 's', spec: 'x', status: 'FAIL' }], '');
    const passing = summarize([{ setup: 's', spec: 'x', status: 'ok' }], '');
    const empty = summarize([], '');
    process.stdout.write = quiet;
    expect('exit code with a failure', failing, 1);
    expect('exit code when all pass', passing, 0);
    expect('exit code with no results', empty, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const problem of problems) process.stdout.write(`self-test FAIL: ${problem}\n`);
  process.stdout.write(problems.length === 0 ? 'self-test ok: broken fixtures fail, good ones pass\n' : '');
  return problems.length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exitCode = 2;
    },
  );
}
