#!/usr/bin/env node
// NestJS apps using @switchboard/nestjs, installed from the packed tarballs into throwaway
// projects under the OS temp directory, the way Nest users build and test them:
//
//   nest11-cjs  NestJS 11, CommonJS, compiled by tsc with emitDecoratorMetadata (services injected
//               by type), run with node on the Express and Fastify platforms, then tested by Jest
//               29 with ts-jest (Nest 11's default test setup)
//   nest12-esm  NestJS 12, ESM (nodenext), the same app compiled by tsc and run with node, then
//               tested by vitest with unplugin-swc (Nest 12's default test setup)
//
//   node test/nest-apps/run.mjs [--keep]
//
// The app is test/nest-apps/app: guards from the package, the scenario of issue 24 (401, 403,
// 400, 201, 429) checked on both platforms. Run `npm run build` first.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanEnv, inParallel, pack, readPackages, repoVersion, run, tail, writeJson } from '../consumers/run.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const PACKAGES = [
  '@switchboard/auth',
  '@switchboard/nestjs',
  '@switchboard/pagination',
  '@switchboard/ratelimit',
  '@switchboard/rbac',
  '@switchboard/validation',
];

const COMPILER = {
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  skipLibCheck: true,
  esModuleInterop: true,
  rootDir: 'src',
  outDir: 'dist',
  types: ['node'],
};

function projects(tarballs) {
  const shared = {
    ...tarballs,
    'reflect-metadata': repoVersion('reflect-metadata'),
    rxjs: repoVersion('rxjs'),
    valibot: repoVersion('valibot'),
    graphql: repoVersion('graphql'),
    '@types/node': repoVersion('@types/node'),
  };
  const nest = (major) =>
    Object.fromEntries(
      ['common', 'core', 'platform-express', 'platform-fastify', 'testing'].map((name) => [
        `@nestjs/${name}`,
        `^${major}.0.0`,
      ]),
    );
  return {
    'nest11-cjs': {
      manifest: {
        name: 'switchboard-nest11-cjs',
        private: true,
        dependencies: {
          ...shared,
          ...nest(11),
          typescript: '~5.9.3',
          jest: '^29.7.0',
          'ts-jest': '^29.4.0',
          '@types/jest': '^29.5.0',
        },
        jest: {
          preset: 'ts-jest',
          testEnvironment: 'node',
          // The app's relative imports name the compiled .js files (as ESM needs); Jest runs the .ts ones.
          moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
        },
      },
      tsconfig: { ...COMPILER, target: 'ES2022', module: 'commonjs', types: ['node', 'jest'] },
      steps: [
        ['tsc (CommonJS, emitDecoratorMetadata)', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']],
        ['node dist/main.js (Express and Fastify)', ['dist/main.js']],
        ['jest (ts-jest)', ['node_modules/jest/bin/jest.js', '--ci']],
      ],
    },
    'nest12-esm': {
      manifest: {
        name: 'switchboard-nest12-esm',
        private: true,
        type: 'module',
        dependencies: {
          ...shared,
          ...nest(12),
          typescript: repoVersion('typescript'),
          vitest: repoVersion('vitest'),
          'unplugin-swc': '^2.0.0',
          '@swc/core': '^1.15.0',
        },
      },
      tsconfig: { ...COMPILER, target: 'ES2023', module: 'nodenext', moduleResolution: 'nodenext' },
      files: {
        'vitest.config.mjs': [
          "import swc from 'unplugin-swc';",
          '',
          '// As Nest 12 projects set vitest up: swc emits the decorator metadata esbuild cannot.',
          'export default { plugins: [swc.vite()], test: { globals: true } };',
          '',
        ].join('\n'),
      },
      steps: [
        ['tsc (ESM nodenext, emitDecoratorMetadata)', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']],
        ['node dist/main.js (Express and Fastify)', ['dist/main.js']],
        ['vitest (unplugin-swc)', ['node_modules/vitest/vitest.mjs', 'run']],
      ],
    },
  };
}

async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { keep: { type: 'boolean', default: false } } });
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'switchboard-nest-apps-'));
  const packages = readPackages(join(root, 'packages')).filter((pkg) => PACKAGES.includes(pkg.name));
  const packed = await pack(packages, join(work, 'tarballs'));
  const tarballs = Object.fromEntries(Object.entries(packed).map(([name, file]) => [name, `file:${file}`]));
  const results = [];
  await inParallel(Object.entries(projects(tarballs)), 2, async ([name, project]) => {
    const dir = join(work, name);
    cpSync(join(here, 'app'), dir, { recursive: true });
    writeJson(join(dir, 'package.json'), project.manifest);
    writeJson(join(dir, 'tsconfig.json'), { compilerOptions: project.tsconfig, include: ['src', 'test'] });
    writeJson(join(dir, 'tsconfig.build.json'), { extends: './tsconfig.json', include: ['src'] });
    for (const [file, text] of Object.entries(project.files ?? {})) writeFileSync(join(dir, file), text);
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      env: cleanEnv(),
    });
    if (installed.code !== 0) {
      results.push({ name, step: 'npm install', ok: false, detail: tail(installed.stderr) });
      return;
    }
    for (const [step, args] of project.steps) {
      const result = await run(process.execPath, args, { cwd: dir, env: cleanEnv({ CI: '1' }) });
      results.push({
        name,
        step,
        ok: result.code === 0,
        ms: result.ms,
        detail: result.code === 0 ? '' : tail(`${result.stdout}\n${result.stderr}`, 25),
      });
      if (result.code !== 0) break;
    }
  });
  for (const { name, step, ok, ms, detail } of results) {
    process.stdout.write(
      `${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(11)} ${step}${ms ? ` (${(ms / 1000).toFixed(1)} s)` : ''}\n`,
    );
    if (!ok) process.stdout.write(`${detail}\n`);
  }
  const failed = results.filter((result) => !result.ok).length;
  process.stdout.write(
    `\n${results.length - failed} ok, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  if (values.keep) process.stdout.write(`kept: ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
  return failed === 0 && results.length === 6 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
