import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

// A throwaway package built with the shared tsup.base.ts, outside the workspace, with its own
// node_modules: an optional peer that is installed, one that is not, one whose own import is
// broken, and an ESM-only dependency the CJS build must carry.
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixture = mkdtempSync(join(tmpdir(), 'sb-package-build-'));

function write(path: string, text: string) {
  mkdirSync(dirname(join(fixture, path)), { recursive: true });
  writeFileSync(join(fixture, path), text);
}

function node(args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd: fixture, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

/** The error line Node prints for an uncaught error. */
const errorLine = (stderr: string) => stderr.split('\n').find((line) => /^[A-Za-z]*Error\b.*: /.test(line));

beforeAll(() => {
  const entries = ['present', 'missing', 'broken'];
  write(
    'package.json',
    JSON.stringify({
      name: '@fixture/peers',
      version: '1.0.0',
      type: 'module',
      dependencies: { 'sb-esm-only': '1.0.0' },
      peerDependencies: { 'sb-present-peer': '*', 'sb-missing-peer': '*', 'sb-broken-peer': '*' },
      peerDependenciesMeta: {
        'sb-present-peer': { optional: true },
        'sb-missing-peer': { optional: true },
        'sb-broken-peer': { optional: true },
      },
    }),
  );
  write(
    'tsup.config.ts',
    `import { packageBuild } from ${JSON.stringify(join(repoRoot, 'tsup.base.ts'))};
export default { ...packageBuild({ entry: { index: 'src/index.ts', ${entries.map((name) => `${name}: 'src/${name}.ts'`).join(', ')} }, bundleInCjs: ['sb-esm-only'] }), dts: false };
`,
  );
  write('src/index.ts', `import { shout } from 'sb-esm-only';\nexport const greet = (name: string) => shout(name);\n`);
  write(
    'src/present.ts',
    `import label, { thing, type Thing } from 'sb-present-peer';\nexport const present = (): Thing => thing;\nexport const presentLabel = () => label;\n`,
  );
  write('src/missing.ts', `import { other } from 'sb-missing-peer';\nexport const missing = () => other;\n`);
  write('src/broken.ts', `import { broken } from 'sb-broken-peer';\nexport const brokenPeer = () => broken;\n`);
  write(
    'node_modules/sb-esm-only/package.json',
    JSON.stringify({ name: 'sb-esm-only', version: '1.0.0', type: 'module', license: 'MIT', exports: './index.js' }),
  );
  write('node_modules/sb-esm-only/index.js', `export const shout = (text) => text.toUpperCase() + '!';\n`);
  write('node_modules/sb-esm-only/LICENSE', 'MIT License\n\nCopyright (c) fixture authors\n');
  write(
    'node_modules/sb-present-peer/package.json',
    JSON.stringify({
      name: 'sb-present-peer',
      version: '1.0.0',
      exports: { import: './index.mjs', require: './index.cjs' },
    }),
  );
  write(
    'node_modules/sb-present-peer/index.mjs',
    `export const thing = 'esm build';\nexport default 'esm default';\nglobalThis.presentLoads = (globalThis.presentLoads ?? 0) + 1;\n`,
  );
  write('node_modules/sb-present-peer/index.cjs', `exports.thing = 'cjs build';\nexports.default = 'cjs default';\n`);
  write(
    'node_modules/sb-present-peer/index.d.ts',
    `export type Thing = string;\nexport declare const thing: Thing;\ndeclare const label: string;\nexport default label;\n`,
  );
  write(
    'node_modules/sb-broken-peer/package.json',
    JSON.stringify({
      name: 'sb-broken-peer',
      version: '1.0.0',
      exports: { import: './index.mjs', require: './index.cjs' },
    }),
  );
  write('node_modules/sb-broken-peer/index.mjs', `import 'sb-not-installed-anywhere';\nexport const broken = 1;\n`);
  write('node_modules/sb-broken-peer/index.cjs', `require('sb-not-installed-anywhere');\nexports.broken = 1;\n`);

  // tsup bundles the config into the fixture directory: what tsup.base.ts imports resolves from there.
  for (const tool of ['esbuild', 'typescript'])
    symlinkSync(join(repoRoot, 'node_modules', tool), join(fixture, 'node_modules', tool), 'dir');
  const build = spawnSync(join(repoRoot, 'node_modules/.bin/tsup'), [], { cwd: fixture, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`fixture build failed:\n${build.stdout}\n${build.stderr}`);
  // The bundled dependency is gone from the install: only the CJS build's own copy can serve it.
  rmSync(join(fixture, 'node_modules/sb-esm-only'), { recursive: true });
}, 120_000);

afterAll(() => rmSync(fixture, { recursive: true, force: true }));

describe('packageBuild: optional peers', () => {
  test('an installed peer loads from the user install, in each format', () => {
    const esm = node([
      '--input-type=module',
      '-e',
      `const a = await import('./dist/present.js'); const b = await import('./dist/present.js'); console.log(a.present(), a.presentLabel(), globalThis.presentLoads)`,
    ]);
    expect(esm.stderr).toBe('');
    expect(esm.stdout).toBe('esm build esm default 1');
    const cjs = node([
      '--no-experimental-require-module',
      '-e',
      `console.log(require('./dist/present.cjs').present())`,
    ]);
    expect(cjs.stderr).toBe('');
    expect(cjs.stdout).toBe('cjs build');
  });

  test('a missing peer fails with one line naming the package to install', () => {
    const cjs = node(['--no-experimental-require-module', '-e', `require('./dist/missing.cjs')`]);
    expect(cjs.status).not.toBe(0);
    expect(errorLine(cjs.stderr)).toBe(
      'Error: @fixture/peers/missing needs sb-missing-peer: npm install sb-missing-peer',
    );
    expect(cjs.stderr).not.toContain('Cannot find');
    // ESM links every static import before running any code: Node's own line names the package.
    const esm = node(['--input-type=module', '-e', `await import('./dist/missing.js')`]);
    expect(esm.status).not.toBe(0);
    expect(errorLine(esm.stderr)).toMatch(
      /^Error \[ERR_MODULE_NOT_FOUND\]: Cannot find package 'sb-missing-peer' imported from /,
    );
  });

  test('the ESM build has no top-level await: it bundles to CommonJS and require(esm) can load it', () => {
    for (const name of ['present', 'missing', 'broken']) {
      const code = readFileSync(join(fixture, `dist/${name}.js`), 'utf8');
      expect(code).not.toMatch(/^(?:var|let|const) \w+ = await /m);
      expect(code).toMatch(new RegExp(`from ['"]sb-${name}-peer['"]`));
    }
    const bundled = spawnSync(
      join(repoRoot, 'node_modules/.bin/esbuild'),
      [
        'dist/present.js',
        '--bundle',
        '--platform=node',
        '--format=cjs',
        '--external:sb-present-peer',
        '--outfile=bundle.cjs',
      ],
      { cwd: fixture, encoding: 'utf8' },
    );
    expect(bundled.stderr).not.toContain('Top-level await');
    expect(bundled.status).toBe(0);
  });

  test('a peer that is installed but cannot load keeps its own error (it is not called missing)', () => {
    const esm = node(['--input-type=module', '-e', `await import('./dist/broken.js')`]);
    expect(errorLine(esm.stderr)).toMatch(/Cannot find package 'sb-not-installed-anywhere'/);
    const cjs = node(['--no-experimental-require-module', '-e', `require('./dist/broken.cjs')`]);
    expect(errorLine(cjs.stderr)).toMatch(/Cannot find module 'sb-not-installed-anywhere'/);
  });

  test('the root entry never loads a subpath peer', () => {
    expect(readFileSync(join(fixture, 'dist/index.js'), 'utf8')).not.toMatch(/sb-(present|missing|broken)-peer/);
    expect(readFileSync(join(fixture, 'dist/index.cjs'), 'utf8')).not.toMatch(/sb-(present|missing|broken)-peer/);
  });
});

describe('packageBuild: output files', () => {
  test("every built file names its source map once (tsup's tree-shaking pass appends a second comment)", () => {
    const built = readdirSync(join(fixture, 'dist')).filter((file) => /\.c?js$/.test(file));
    expect(built.length).toBeGreaterThan(4);
    for (const file of built) {
      const comments = readFileSync(join(fixture, 'dist', file), 'utf8').match(/^\/\/# sourceMappingURL=.+$/gm);
      expect(comments, file).toEqual([`//# sourceMappingURL=${file}.map`]);
    }
  });
});

describe('packageBuild: bundleInCjs', () => {
  test('the CJS build carries the ESM-only dependency and loads without require(esm)', () => {
    const cjs = node([
      '--no-experimental-require-module',
      '-e',
      `console.log(require('./dist/index.cjs').greet('hi'))`,
    ]);
    expect(cjs.stderr).toBe('');
    expect(cjs.stdout).toBe('HI!');
  });

  test('the ESM build keeps it a dependency', () => {
    expect(readFileSync(join(fixture, 'dist/index.js'), 'utf8')).toMatch(/from ['"]sb-esm-only['"]/);
  });

  test("the bundled package's license ships in THIRD-PARTY-NOTICES.md; its sources stay out of the maps", () => {
    const notices = readFileSync(join(fixture, 'dist/THIRD-PARTY-NOTICES.md'), 'utf8');
    expect(notices).toContain('## sb-esm-only@1.0.0 (MIT)');
    expect(notices).toContain('Copyright (c) fixture authors');
    const map = JSON.parse(readFileSync(join(fixture, 'dist/index.cjs.map'), 'utf8')) as {
      sources: string[];
      sourcesContent: (string | null)[];
    };
    const bundled = map.sources.findIndex((source) => source.includes('node_modules/sb-esm-only/'));
    const ours = map.sources.findIndex((source) => source.endsWith('src/index.ts'));
    expect(map.sourcesContent[bundled]).toBeNull();
    expect(map.sourcesContent[ours]).toContain('export const greet');
  });

  test('refuses to bundle a peer dependency', () => {
    // Node 22 strips TypeScript types only when asked (23.6+ by default).
    const stripTypes = (process.features as { typescript?: unknown }).typescript ? [] : ['--experimental-strip-types'];
    const config = node([
      ...stripTypes,
      '--input-type=module',
      '-e',
      `process.chdir(${JSON.stringify(fixture)}); const { packageBuild } = await import(${JSON.stringify(join(repoRoot, 'tsup.base.ts'))}); packageBuild({ entry: {}, bundleInCjs: ['sb-present-peer'] });`,
    ]);
    expect(errorLine(config.stderr)).toMatch(
      /bundleInCjs lists sb-present-peer, which is not a \(non-peer\) dependency/,
    );
    expect(existsSync(join(fixture, 'dist/index.cjs'))).toBe(true);
  });
});
