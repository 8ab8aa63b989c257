import { existsSync, readFileSync } from 'node:fs';
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
      expect(manifest.engines).toEqual({ node: '>=20.19' });
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

    test('has a tsup config, a README and a tsconfig extending the strict base', () => {
      for (const file of ['tsup.config.ts', 'README.md', 'tsconfig.json', 'src/index.ts']) {
        expect(existsSync(join(dir, file)), file).toBe(true);
      }
      expect(readJson<{ extends: string }>(join(dir, 'tsconfig.json')).extends).toBe('../../tsconfig.base.json');
    });

    test('says in its README whether it is implemented, matching what it exports', async () => {
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      const exported = Object.keys(await import(`@switchboard/${name}`));
      const saysPlaceholder = readme.includes('**Not implemented yet.**');
      expect(saysPlaceholder).toBe(exported.length === 0);
    });
  });
}
