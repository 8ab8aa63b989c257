import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { readManifest } from '../src/manifest.ts';
import { isRunning, processTree, readStartTime } from '../src/process.ts';
import { redisCommand } from '../src/resp.ts';
import type { TopologyInfo } from '../src/types.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'switchboard-cli-test-'));
const stateFile = join(scratch, 'state', 'state.json');

/** Runs the CLI the way `npm run infra --` does (tsx), with a state file of this test's own. */
function infra(...args: string[]) {
  // execFile resolves only when stdout and stderr close: a server that kept our pipe open
  // would make this time out.
  return run(process.execPath, ['--import', 'tsx', cli, ...args, '--state', stateFile], { timeout: 60_000 });
}

/** Pids of live processes whose working directory is inside `dir`. */
function processesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (cwd.startsWith(dir) && isRunning({ pid, startTime: readStartTime(pid) ?? '' })) found.push(pid);
  }
  return found;
}

function topologyDirs(): string[] {
  return readdirSync(tmpdir()).filter((entry) => entry.startsWith('switchboard-infra-'));
}

describe('infra CLI', () => {
  afterAll(async () => {
    await infra('down').catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  test('up starts detached servers and prints only their connection info; down stops exactly them', async () => {
    const dirsBefore = topologyDirs();
    const up = await infra('up', '--replicas', '1', '--sentinels', '3');
    const info = JSON.parse(up.stdout) as TopologyInfo;
    expect(info.postgres?.replicas).toHaveLength(1);
    expect(info.redis?.replicas).toHaveLength(1);
    expect(info.redis?.sentinels).toHaveLength(3);
    expect(info.redis?.masterName).toBe('mymaster');

    // The CLI has exited; the servers still answer.
    const client = new pg.Client({ connectionString: info.postgres?.replicas[0] });
    await client.connect();
    expect((await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r).toBe(true);
    await client.end();
    const sentinel = info.redis?.sentinels[0];
    expect(await redisCommand(sentinel?.port ?? 0, ['PING'])).toBe('PONG');

    const newDirs = topologyDirs().filter((dir) => !dirsBefore.includes(dir));
    expect(newDirs).toHaveLength(1);
    const dir = join(tmpdir(), newDirs[0] ?? '');
    const processes = readManifest(dir)?.processes ?? [];
    expect(processes).toHaveLength(2 + 2 + 3);
    expect(processes.every((record) => isRunning(record))).toBe(true);

    await expect(infra('up')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already up') });

    // Every process of every server, Postgres backends and walsenders included.
    const everything = processes
      .flatMap((record) => processTree(record.pid))
      .map((pid) => ({ pid, startTime: readStartTime(pid) ?? 'gone' }));
    expect(everything.length).toBeGreaterThan(processes.length);
    await infra('down');
    // Not even a zombie is left in the process table.
    expect(everything.filter((proc) => readStartTime(proc.pid) === proc.startTime)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
  });

  test('up --redis-cluster adds a Redis Cluster to the JSON; down stops its nodes', async () => {
    const dirsBefore = topologyDirs();
    const up = await infra('up', '--no-postgres', '--no-redis', '--redis-cluster');
    const info = JSON.parse(up.stdout) as TopologyInfo;
    expect(info.postgres).toBeUndefined();
    expect(info.redis).toBeUndefined();
    expect(info.redisCluster?.nodes).toHaveLength(6);
    for (const node of info.redisCluster?.nodes ?? []) {
      expect(node.host).toBe('127.0.0.1');
      expect(String(await redisCommand(node.port, ['CLUSTER', 'INFO']))).toContain('cluster_state:ok');
    }
    expect(JSON.parse((await infra('status')).stdout)).toEqual(info);

    const newDirs = topologyDirs().filter((dir) => !dirsBefore.includes(dir));
    expect(newDirs).toHaveLength(1);
    const dir = join(tmpdir(), newDirs[0] ?? '');
    const processes = readManifest(dir)?.processes ?? [];
    expect(processes.map((record) => record.name).sort()).toEqual(
      [1, 2, 3, 4, 5, 6].map((index) => `redis-cluster-node${index}`),
    );
    expect(processes.every((record) => isRunning(record))).toBe(true);

    await infra('down');
    expect(processes.filter((record) => readStartTime(record.pid) === record.startTime)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
  });

  test('down with nothing up says so and succeeds', async () => {
    const down = await infra('down');
    expect(down.stderr).toContain('nothing is up');
  });

  test('bad arguments fail with one line and exit code 2', async () => {
    await expect(infra('up', '--replicas', 'two')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--replicas must be a whole number >= 0, got 'two'"),
    });
    await expect(infra('up', '--replicas=')).rejects.toMatchObject({ code: 2 });
    await expect(infra('up', '--redis-cluster-masters', '0')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--redis-cluster-masters must be at least 1'),
    });
    await expect(infra('up', '--bogus')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--bogus') });
  });

  test('Ctrl-C during up stops what had started and leaves nothing behind', async () => {
    const dirsBefore = topologyDirs();
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'up', '--replicas', '2', '--state', stateFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Interrupt once the first server is recorded, while the others are still starting.
    const dir = await waitFor(
      async () => {
        const fresh = topologyDirs().filter((entry) => !dirsBefore.includes(entry));
        const candidate = fresh[0] && join(tmpdir(), fresh[0]);
        return candidate && (readManifest(candidate)?.processes.length ?? 0) > 0 ? candidate : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 5 },
    );
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(130);
    // Not only what was recorded when we interrupted: no process at all may still work in the
    // topology's dir (servers started after the signal would otherwise be orphans).
    expect(processesUnder(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
  });
});
