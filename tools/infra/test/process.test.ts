import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { isRunning, readStartTime, signalTree, spawnServer, stopProcess, waitUntilGone } from '../src/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-process-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid a test shell script echoes first into its log. */
async function firstLine(file: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const pid = Number(readFileSync(file, 'utf8').trim().split('\n')[0]);
    if (pid > 0) return pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no pid in ${file}`);
}

describe('process records', () => {
  test('name one process: a matching pid with another start time is not it', () => {
    const startTime = readStartTime(process.pid) ?? '';
    expect(isRunning({ pid: process.pid, startTime })).toBe(true);
    expect(isRunning({ pid: process.pid, startTime: `${startTime}1` })).toBe(false);
    expect(isRunning({ pid: 2 ** 22 + 1, startTime })).toBe(false);
  });

  test('stopProcess sends the graceful signal and waits until the process is gone', async () => {
    const server = await spawnServer({
      name: 'sleeper',
      command: 'sleep',
      args: ['60'],
      logFile: join(dir, 'sleeper.log'),
      stopSignal: 'SIGTERM',
    });
    expect(isRunning(server.record)).toBe(true);
    await stopProcess(server.record, 5_000);
    expect(isRunning(server.record)).toBe(false);
    expect((await server.exited).signal).toBe('SIGTERM');
  });

  test('stopProcess escalates to SIGKILL, for the whole tree, when the graceful signal is ignored', async () => {
    const server = await spawnServer({
      name: 'stubborn',
      command: 'sh',
      args: ['-c', "trap '' TERM; sleep 60 & echo $!; wait"],
      logFile: join(dir, 'stubborn.log'),
      stopSignal: 'SIGTERM',
    });
    const child = await firstLine(join(dir, 'stubborn.log'));
    const childRecord = { pid: child, startTime: readStartTime(child) ?? 'unknown' };
    expect(isRunning(childRecord)).toBe(true);
    await stopProcess(server.record, 300);
    expect(isRunning(server.record)).toBe(false);
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(await waitUntilGone({ ...childRecord, name: 'sleep', logFile: '', stopSignal: 'SIGTERM' }, 5_000)).toBe(
      true,
    );
  });

  test('signalTree reaches grandchildren that left the process group', async () => {
    // setsid puts the grandchild in a session of its own, as Postgres backends do.
    const server = await spawnServer({
      name: 'tree',
      command: 'sh',
      args: ['-c', 'setsid sleep 60 & echo $! ; wait'],
      logFile: join(dir, 'tree.log'),
      stopSignal: 'SIGTERM',
    });
    const grandchild = await firstLine(join(dir, 'tree.log'));
    const record = { pid: grandchild, startTime: readStartTime(grandchild) ?? '' };
    expect(isRunning(record)).toBe(true);
    signalTree(server.record, 'SIGKILL');
    expect(await waitUntilGone({ ...record, name: 'grandchild', logFile: '', stopSignal: 'SIGTERM' }, 5_000)).toBe(
      true,
    );
  });

  test('a command that cannot be started is a clear error, not an unhandled event', async () => {
    await expect(
      spawnServer({
        name: 'missing',
        command: join(dir, 'no-such-binary'),
        args: [],
        logFile: join(dir, 'missing.log'),
        stopSignal: 'SIGTERM',
      }),
    ).rejects.toThrow(/could not start missing/);
  });
});
