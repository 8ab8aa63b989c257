import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '@switchboard/auth';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../src/config.ts';
import { loadSigningKeys } from '../src/signing-keys.ts';

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-keys-'));
  dirs.push(dir);
  return join(dir, 'data');
}

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('loadSigningKeys', () => {
  test('generates a key once, stores it owner-only, and returns the same key on every later start', async () => {
    const dir = await dataDir();
    const [first] = await loadSigningKeys({ fromEnvironment: undefined, dataDir: dir });
    expect(first).toMatchObject({ kty: 'OKP', d: expect.any(String), kid: expect.any(String) });
    expect((await stat(join(dir, 'signing-keys.json'))).mode & 0o777).toBe(0o600);
    const [again] = await loadSigningKeys({ fromEnvironment: undefined, dataDir: dir });
    expect(again).toEqual(first);
  });

  test('instances starting together agree on one key', async () => {
    const dir = await dataDir();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => loadSigningKeys({ fromEnvironment: undefined, dataDir: dir })),
    );
    const kids = new Set(results.map(([key]) => key?.kid));
    expect(kids.size).toBe(1);
    const stored = JSON.parse(await readFile(join(dir, 'signing-keys.json'), 'utf8'));
    expect(stored[0].kid).toBe([...kids][0]);
  });

  test('ACCESS_TOKEN_KEYS wins over the data folder; a malformed value names the variable', async () => {
    const key = await generateSigningKey();
    const dir = await dataDir();
    expect(await loadSigningKeys({ fromEnvironment: JSON.stringify([key]), dataDir: dir })).toEqual([key]);
    await expect(loadSigningKeys({ fromEnvironment: '{nope', dataDir: dir })).rejects.toThrow(ConfigError);
    const publicOnly = JSON.stringify([{ ...key, d: undefined }]);
    await expect(loadSigningKeys({ fromEnvironment: publicOnly, dataDir: dir })).rejects.toThrow(
      /^ACCESS_TOKEN_KEYS: /,
    );
  });
});
