import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isRunning, readStartTime } from '@switchboard/infra';
import { beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, REPO_ROOT } from '../src/build-check.ts';
import { reapLoadOrphans } from '../src/orphans.ts';

beforeAll(() => ensureBuilt({ build: true }));

describe('reapLoadOrphans', () => {
  test('a harness killed with SIGKILL leaves a running server behind; the next run stops it and removes its dir', async () => {
    const system = new URL('../src/system.ts', import.meta.url).href;
    const harness = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { startSystem } = await import(${JSON.stringify(system)});
         const started = await startSystem({ mode: 'embedded' });
         console.log('STARTED', started.dir, started.serverPids()[0]);
         setInterval(() => {}, 1000);`,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let printed = '';
    harness.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const started = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /STARTED (\S+) (\d+)/.exec(printed);
        if (match) {
          clearInterval(timer);
          resolve(match);
        }
      }, 50);
      harness.once('exit', (code) => reject(new Error(`the harness exited (${code}) before its server started`)));
    });
    const dir = started[1] as string;
    const pid = Number(started[2]);
    const server = { pid, startTime: readStartTime(pid) ?? '' };
    harness.kill('SIGKILL');
    await new Promise((resolve) => harness.once('exit', resolve));
    expect(isRunning(server)).toBe(true);

    await reapLoadOrphans(tmpdir());
    expect(isRunning(server)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
