import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  exports: Record<string, string | ConditionalTarget>;
}

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
      expect(manifest.files).toContain('dist');
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
      expect(readFileSync(join(dir, 'README.md'), 'utf8'), 'no internal issue numbers in a README').not.toMatch(
        /\bissue #?\d+/i,
      );
    });

    test('follows the package layout (docs/package-layout.md)', async () => {
      const index = readFileSync(join(dir, 'src/index.ts'), 'utf8');
      expect(index, 'no export * at the root').not.toMatch(/^export \*/m);
      expect(existsSync(join(dir, 'src/errors.ts')), 'src/errors.ts').toBe(true);
      const root = await import(`@switchboard/${name}`);
      expect(
        Object.keys(root).some((key) => /^is[A-Z]\w*Error$/.test(key)),
        'an is…Error guard',
      ).toBe(true);
      const subpaths = Object.keys(manifest.exports);
      if (subpaths.includes('./yoga')) expect(subpaths, './yoga comes with ./graphql').toContain('./graphql');
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
