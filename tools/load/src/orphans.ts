import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, readStartTime, reapOrphans, signalTree } from '@switchboard/infra';

/** The prefix of every harness temp dir (under os.tmpdir()). */
export const LOAD_DIR_PREFIX = 'switchboard-load-';
const OWNER_FILE = 'owner.json';

interface Owner {
  pid: number;
  startTime: string;
  /** `--keep`: the dir outlives the run on purpose. */
  keep: boolean;
  /** The servers the owner started (pid + kernel start time: a reused pid is never signalled). */
  servers: { pid: number; startTime: string }[];
}

/**
 * Records in `dir` which process owns it and which servers it started, so a later run can clean
 * up after one that was killed (SIGKILL, a CI timeout): its servers would run on, detached.
 */
export function recordOwner(dir: string, keep: boolean): { addServer(pid: number): void } {
  const owner: Owner = { pid: process.pid, startTime: readStartTime(process.pid) ?? '', keep, servers: [] };
  const write = () => {
    writeFileSync(join(dir, `${OWNER_FILE}.tmp`), JSON.stringify(owner));
    renameSync(join(dir, `${OWNER_FILE}.tmp`), join(dir, OWNER_FILE));
  };
  write();
  return {
    addServer(pid) {
      owner.servers.push({ pid, startTime: readStartTime(pid) ?? '' });
      write();
    },
  };
}

/**
 * Stops what harness runs whose process is gone left behind under `baseDir`: their servers
 * (SIGTERM, then SIGKILL of the whole tree after 15 s), their tools/infra topology, their temp
 * dir. Runs that are alive, or were started with `--keep`, are left alone.
 */
export async function reapLoadOrphans(baseDir: string): Promise<void> {
  for (const entry of readdirSync(baseDir)) {
    if (!entry.startsWith(LOAD_DIR_PREFIX)) continue;
    const dir = join(baseDir, entry);
    let owner: Owner;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Owner;
    } catch {
      continue; // not ours, or being created
    }
    if (owner.keep || isRunning(owner)) continue;
    const alive = owner.servers.filter((server) => isRunning(server));
    for (const server of alive) {
      try {
        process.kill(server.pid, 'SIGTERM');
      } catch {
        // Exited since.
      }
    }
    const deadline = Date.now() + 15_000;
    while (alive.some((server) => isRunning(server)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const server of alive) signalTree(server, 'SIGKILL');
    await reapOrphans(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
