import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

interface ConditionalTarget {
  '@switchboard/source': string;
  import: { types: string; default: string };
  require: { types: string; default: string };
}

interface PackageManifest {
  name: string;
  private?: boolean;
  type: string;
  sideEffects: boolean;
  engines: Record<string, string>;
  publishConfig: Record<string, string>;
  files: string[];
  types: string;
  exports: Record<string, string | ConditionalTarget>;
  typesVersions?: Record<string, Record<string, string[]>>;
  scripts: Record<string, string>;
  keywords?: string[];
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** scripts/pack-manifest.mjs, the package.json swap npm runs around every pack and publish. */
interface PackManifestScript {
  SOURCE_CONDITION: string;
  BACKUP_FILE: string;
  publishedManifest(
    manifest: PackageManifest,
    options: { packageDir: string; rootDir?: string; rootManifest?: Record<string, unknown> },
  ): Record<string, unknown>;
  run(
    command: 'prepack' | 'postpack' | 'postpublish' | 'restore' | 'print',
    options: { packageDir: string; rootDir?: string; env?: Record<string, string> },
  ): unknown;
}

const packManifestFile = fileURLToPath(new URL('../scripts/pack-manifest.mjs', import.meta.url));
const loadPackManifest = async () => (await import(packManifestFile)) as PackManifestScript;
const LIFECYCLE_EVENTS = ['prepack', 'postpack', 'postpublish'] as const;

// Past this, a source file says at its top why it is one file (CONVENTIONS: split by concern).
const LONG_FILE_LINES = 400;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

/**
 * What every published package must be, whatever it implements: run from each package's own
 * `test/package.test.ts` with `describePackage(new URL('..', import.meta.url))`.
 */
// Packages that throw nothing but `TypeError` for bad options: what they handle are other code's
// errors (logging writes them), so they have no error class, no guard and no error table.
const RAISES_NO_ERRORS_OF_ITS_OWN = new Set(['logging']);

export function describePackage(packageDir: URL): void {
  const dir = fileURLToPath(packageDir);
  const name = basename(dir);
  const manifest = readJson<PackageManifest>(join(dir, 'package.json'));

  describe(`@switchboard/${name} package`, () => {
    test('is a public ESM package with dual exports that each carry their own types', () => {
      expect(manifest.name).toBe(`@switchboard/${name}`);
      expect(manifest.private).toBeUndefined();
      expect(manifest.type).toBe('module');
      expect(manifest.sideEffects).toBe(false);
      expect(manifest.engines).toEqual({ node: '>=22.12' });
      expect(manifest.publishConfig).toEqual({ access: 'public' });
      // Only the build: its source maps embed the sources, so src/ would ship them twice.
      expect(manifest.files).toEqual(['dist']);
      expect(manifest.exports['./package.json']).toBe('./package.json');
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        if (typeof target === 'string') {
          expect(subpath).toBe('./package.json');
          continue;
        }
        expect(target['@switchboard/source'], subpath).toMatch(/^\.\/src\/.+\.ts$/);
        expect(target.import, subpath).toEqual({
          types: expect.stringMatching(/\.d\.ts$/),
          default: expect.stringMatching(/\.js$/),
        });
        expect(target.require, subpath).toEqual({
          types: expect.stringMatching(/\.d\.cts$/),
          default: expect.stringMatching(/\.cjs$/),
        });
        expect(existsSync(join(dir, target['@switchboard/source'])), `${subpath} source exists`).toBe(true);
      }
    });

    test('types every subpath under node10 resolution too (TypeScript 5.x "module": "commonjs")', () => {
      // node10 cannot read `exports`: the root's types come from `types`, each subpath's from
      // `typesVersions`, both the CommonJS declarations (what `require` loads there).
      const root = manifest.exports['.'];
      expect(typeof root === 'object' && manifest.types === root.require.types, 'types is the root .d.cts').toBe(true);
      const expected: Record<string, string[]> = {};
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        if (subpath === '.' || typeof target === 'string') continue;
        expected[subpath.slice('./'.length)] = [target.require.types];
      }
      expect(manifest.typesVersions).toEqual({ '*': expected });
    });

    test('publishes a manifest without the repo-only source condition or src/ (scripts/pack-manifest.mjs)', async () => {
      const { publishedManifest, SOURCE_CONDITION } = await loadPackManifest();
      const rootManifest = readJson<Record<string, unknown>>(join(dir, '../../package.json'));
      const published = publishedManifest(manifest, { packageDir: dir, rootManifest });
      expect(JSON.stringify(published)).not.toContain(SOURCE_CONDITION);
      expect(published.files).toEqual(['dist']);
      const exports = published.exports as PackageManifest['exports'];
      expect(Object.keys(exports)).toEqual(Object.keys(manifest.exports));
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        if (typeof target === 'string') continue;
        const { '@switchboard/source': _source, ...rest } = target;
        expect(exports[subpath], subpath).toEqual(rest);
      }
      const { exports: _exports, files: _files, ...unchanged } = manifest;
      expect(published).toMatchObject(unchanged);
      // Project links are written once, in the root package.json, and derived at pack time.
      for (const field of ['repository', 'homepage', 'bugs']) {
        expect(manifest, `${field} comes from the root package.json`).not.toHaveProperty(field);
        expect(field in published, field).toBe('repository' in rootManifest);
      }
      expect(manifest.keywords?.length, 'keywords').toBeGreaterThanOrEqual(3);
      expect(manifest.keywords).toContain('switchboard');
      expect(new Set(manifest.keywords).size, 'keywords are unique').toBe(manifest.keywords?.length);
    });

    test('runs the manifest swap around every npm pack and publish', () => {
      for (const event of LIFECYCLE_EVENTS) {
        expect(manifest.scripts[event], event).toBe(`node ../../scripts/pack-manifest.mjs ${event}`);
      }
      expect(existsSync(join(dir, '../../scripts/pack-manifest.mjs'))).toBe(true);
      // As npm runs it: from the package folder, printing nothing else on stdout.
      const printed = spawnSync(process.execPath, [packManifestFile, 'print'], { cwd: dir, encoding: 'utf8' });
      expect(printed.stderr).toBe('');
      expect(printed.status).toBe(0);
      expect(printed.stdout).not.toContain('@switchboard/source');
      expect(JSON.parse(printed.stdout).name).toBe(manifest.name);
    });

    test('swaps the published manifest in for packing and always puts the repo one back', async () => {
      const { run, BACKUP_FILE } = await loadPackManifest();
      const rootDir = mkdtempSync(join(tmpdir(), 'switchboard-pack-manifest-'));
      try {
        const packageDir = join(rootDir, 'packages', name);
        mkdirSync(packageDir, { recursive: true });
        const repository = { type: 'git', url: 'git+https://github.com/acme/switchboard.git' };
        writeFileSync(join(rootDir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, repository }));
        const original = readFileSync(join(dir, 'package.json'), 'utf8');
        const manifestFile = join(packageDir, 'package.json');
        const backupFile = join(packageDir, BACKUP_FILE);
        writeFileSync(manifestFile, original);
        const current = () => readFileSync(manifestFile, 'utf8');
        const pack = { packageDir, rootDir, env: { npm_command: 'pack' } };
        const publish = { packageDir, rootDir, env: { npm_command: 'publish' } };

        run('prepack', pack);
        const published = JSON.parse(current()) as Record<string, unknown>;
        expect(current()).not.toContain('@switchboard/source');
        expect(published.files).toEqual(['dist']);
        expect(published.repository).toEqual({ ...repository, directory: `packages/${name}` });
        expect(published.homepage).toBe(`https://github.com/acme/switchboard/tree/HEAD/packages/${name}#readme`);
        expect(published.bugs).toEqual({ url: 'https://github.com/acme/switchboard/issues' });
        run('postpack', pack);
        expect(current()).toBe(original);
        expect(existsSync(backupFile)).toBe(false);

        // npm publish reads package.json again after postpack and sends it to the registry.
        run('prepack', publish);
        const publishedText = current();
        run('postpack', publish);
        expect(current()).toBe(publishedText);
        run('postpublish', publish);
        expect(current()).toBe(original);
        expect(existsSync(backupFile)).toBe(false);

        // A pack that died before postpack: the next one starts from the repo's manifest.
        run('prepack', pack);
        run('prepack', pack);
        expect(readFileSync(backupFile, 'utf8')).toBe(original);
        run('postpack', pack);
        expect(current()).toBe(original);

        // ... unless package.json was edited since: nothing is overwritten, the user decides.
        run('prepack', pack);
        writeFileSync(manifestFile, '{ "name": "edited by hand" }\n');
        expect(() => run('prepack', pack)).toThrow(/changed after a pack was interrupted/);
        expect(current()).toBe('{ "name": "edited by hand" }\n');
        expect(readFileSync(backupFile, 'utf8')).toBe(original);
      } finally {
        rmSync(rootDir, { recursive: true, force: true });
      }
    });

    test('has a tsup config, a README, the LICENSE and a tsconfig extending the strict base', () => {
      for (const file of ['tsup.config.ts', 'README.md', 'LICENSE', 'tsconfig.json', 'src/index.ts']) {
        expect(existsSync(join(dir, file)), file).toBe(true);
      }
      expect(readJson<{ extends: string }>(join(dir, 'tsconfig.json')).extends).toBe('../../tsconfig.base.json');
      // A package whose types use pg's (QueryResult, Pool, ...) must bring them: without
      // @types/pg a TypeScript user's results would silently be `any`.
      const manifestDeps = manifest as unknown as { dependencies?: Record<string, string> };
      const usesPgTypes = sourceFiles(join(dir, 'src')).some((file) => /from 'pg';/.test(readFileSync(file, 'utf8')));
      if (usesPgTypes) {
        expect(manifestDeps.dependencies?.['@types/pg'], 'a package using pg types depends on @types/pg').toBeDefined();
      }
      // npm packs a package's own LICENSE, not the repository's: each package carries a copy.
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(dir, '../../LICENSE'), 'utf8'));
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      expect(readme, 'no internal issue numbers in a README').not.toMatch(/\bissue #?\d+/i);
      // A README that offers node-redis declares it (the `redis` package), optional like every driver.
      if (/node-redis/.test(readme)) {
        expect(manifest.peerDependencies?.redis, 'node-redis is a peer dependency').toBeDefined();
        expect(manifest.peerDependenciesMeta?.redis?.optional, 'node-redis is optional').toBe(true);
      }
    });

    test('follows the package layout (docs/package-layout.md)', async () => {
      const index = readFileSync(join(dir, 'src/index.ts'), 'utf8');
      expect(index, 'no export * at the root').not.toMatch(/^export \*/m);
      const subpaths = Object.keys(manifest.exports);
      if (RAISES_NO_ERRORS_OF_ITS_OWN.has(name)) {
        // Nothing to map for a client: no error class, no guard, no ./graphql.
        expect(existsSync(join(dir, 'src/errors.ts')), 'no src/errors.ts without errors of its own').toBe(false);
        expect(subpaths).not.toContain('./graphql');
      } else {
        expect(existsSync(join(dir, 'src/errors.ts')), 'src/errors.ts').toBe(true);
        const root = await import(`@switchboard/${name}`);
        expect(
          Object.keys(root).some((key) => /^is[A-Z]\w*Error$/.test(key)),
          'an is…Error guard',
        ).toBe(true);
        if (subpaths.includes('./yoga')) expect(subpaths, './yoga comes with ./graphql').toContain('./graphql');
      }
      if (subpaths.includes('./graphql')) {
        const graphql = await import(`@switchboard/${name}/graphql`);
        expect(typeof graphql.toGraphQLError, './graphql exports toGraphQLError').toBe('function');
        expect(
          Object.keys(graphql).some((key) => key.endsWith('_ERROR_TABLE')),
          './graphql exports its error table',
        ).toBe(true);
      }
      if (existsSync(join(dir, 'src/testing'))) expect(subpaths, 'src/testing is published').toContain('./testing');
      for (const file of sourceFiles(join(dir, 'src'))) {
        const text = readFileSync(file, 'utf8');
        if (text.split('\n').length <= LONG_FILE_LINES) continue;
        const head = text.split('\n').slice(0, 20).join('\n');
        expect(head, `${file}: over ${LONG_FILE_LINES} lines, says at its top why it is one file`).toMatch(/one file/i);
      }
    });

    test('says in its README whether it is implemented, matching what it exports', async () => {
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      const exported = Object.keys(await import(`@switchboard/${name}`));
      const saysPlaceholder = readme.includes('**Not implemented yet.**');
      expect(saysPlaceholder).toBe(exported.length === 0);
    });
  });
}
