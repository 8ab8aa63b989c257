import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const runFile = fileURLToPath(new URL('./run.mjs', import.meta.url));

// The consumer suite itself packs and installs (minutes): CI runs it as its own step. Here, only
// that its checker can fail: deliberately broken fixtures must be reported as failures.
describe('consumer test runner', () => {
  test('reports broken fixtures as failures and good ones as passing (--self-test)', () => {
    const result = spawnSync(process.execPath, [runFile, '--self-test'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.stdout).toContain('self-test ok');
    expect(result.status).toBe(0);
  });

  test('refuses unknown options', () => {
    const result = spawnSync(process.execPath, [runFile, '--no-such-option'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('no-such-option');
  });
});
