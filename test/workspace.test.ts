import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
// Manifests as the tests read them (fields looked up by name; a missing one fails the expectation).
// biome-ignore lint/suspicious/noExplicitAny: untyped JSON read field by field
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;

const published = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const expectedPackages = [
  'auth',
  'cache',
  'db-router',
  'logging',
  'nestjs',
  'pagination',
  'ratelimit',
  'rbac',
  'tx',
  'validation',
];

describe('workspace layout', () => {
  test('has exactly one package folder per concern', () => {
    expect(published.sort()).toEqual(expectedPackages);
  });

  test('the root pins the toolchain and declares the oldest Node line still maintained (22.12)', () => {
    const { devDependencies, engines, workspaces } = readJson(join(root, 'package.json'));
    expect(workspaces).toEqual(['packages/*', 'examples/*', 'tools/*']);
    expect(engines.node).toBe('>=22.12');
    expect(devDependencies).toMatchObject({
      typescript: '6.0.3',
      tsup: '8.5.1',
      vitest: '4.1.12',
      '@changesets/cli': '2.31.1',
      '@biomejs/biome': '2.6.8',
      publint: '0.3.25',
      '@arethetypeswrong/cli': '0.18.5',
    });
  });

  test('changesets version each package on its own and publish publicly', () => {
    const config = readJson(join(root, '.changeset', 'config.json'));
    expect(config).toMatchObject({ fixed: [], linked: [], access: 'public', updateInternalDependencies: 'patch' });
    expect(config.privatePackages).toEqual({ version: false, tag: false });
  });
});
