import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from './errors.ts';
import { type Manifest, readManifest, writeManifest } from './manifest.ts';
import { type PostgresCluster, type PostgresReplicaOptions, startPostgres } from './postgres.ts';
import { isRunning, type ProcessRecord, readStartTime, signalTree, stopProcess, waitUntilReaped } from './process.ts';
import { type RedisGroup, startRedis } from './redis.ts';
import { type RedisCluster, startRedisCluster } from './redis-cluster.ts';
import type { TopologyInfo } from './types.ts';

export interface TopologyOptions {
  /** Postgres primary + replicas, or `false` for none. @default { replicas: 2 } */
  postgres?:
    | false
    | {
        /** A count, or per-replica options (e.g. `[{}, { applyDelayMs: 2000 }]`). @default 2 */
        replicas?: number | PostgresReplicaOptions[];
        /** @default 200 */
        maxConnections?: number;
      };
  /** Redis master + replicas + Sentinels, or `false` for none. @default { replicas: 2, sentinels: 3 } */
  redis?:
    | false
    | {
        /** @default 2 */
        replicas?: number;
        /** @default 3 */
        sentinels?: number;
        /** @default 2000 */
        downAfterMs?: number;
      };
  /**
   * A Redis Cluster (masters splitting the hash slots, each with replicas), independent of the
   * Sentinel group above, or `false` for none. @default false
   */
  redisCluster?:
    | false
    | {
        /** @default 3 */
        masters?: number;
        /** @default 1 */
        replicasPerMaster?: number;
        /** `cluster-node-timeout`. @default 2000 */
        nodeTimeoutMs?: number;
      };
  /**
   * Leave the servers running when this process exits (the CLI's `up`); `stopTopologyDir` stops
   * them later. Otherwise they are killed when this process exits, however it exits.
   * @default false
   */
  detached?: boolean;
  /**
   * Kill the servers at once when this process gets SIGINT, SIGTERM or SIGHUP. `false` when the
   * caller handles those itself and stops the topology after its own clean-up (e.g. servers that
   * must finish their requests first); the servers are still killed if the process exits
   * without stopping them. Ignored when `detached`. @default true
   */
  stopOnSignal?: boolean;
  /** Where the topology's temp dir is made. @default os.tmpdir() */
  baseDir?: string;
  /** Called once the temp dir exists, before any server starts (the CLI records it there). */
  onDir?: (dir: string) => void;
  /** Aborts the start: nothing more is spawned, and what was started is stopped. */
  signal?: AbortSignal;
}

/** Servers started together in one temp dir; `stop()` stops them all and removes the dir. */
export interface Topology {
  dir: string;
  info: TopologyInfo;
  postgres: PostgresCluster | undefined;
  redis: RedisGroup | undefined;
  redisCluster: RedisCluster | undefined;
  stop(): Promise<void>;
}

export const TOPOLOGY_DIR_PREFIX = 'switchboard-infra-';

/**
 * Starts real servers on 127.0.0.1 on free ports in a fresh temp dir. Every process is recorded
 * in the dir's manifest as it starts, so a crash half-way leaves nothing that can't be found.
 *
 * @example
 * const topology = await startTopology({ postgres: { replicas: 2 }, redis: { replicas: 2 } });
 * console.log(topology.info.postgres?.primary);
 * await topology.stop();
 */
export async function startTopology(options: TopologyOptions = {}): Promise<Topology> {
  if (!existsSync('/proc/self/stat')) {
    throw new InfraError('tools/infra needs Linux (/proc) to track the servers it starts');
  }
  const baseDir = options.baseDir ?? tmpdir();
  await reapOrphans(baseDir);
  const detached = options.detached ?? false;
  const dir = mkdtempSync(join(baseDir, TOPOLOGY_DIR_PREFIX));
  // mkdtemp makes 0700; the postgres OS user must be able to reach its data dirs inside.
  chmodSync(dir, 0o755);
  const manifest: Manifest = {
    version: 1,
    owner: { pid: process.pid, startTime: readStartTime(process.pid) ?? '' },
    detached,
    info: {},
    processes: [],
  };
  writeManifest(dir, manifest);
  options.onDir?.(dir);
  const tracker = {
    track(record: ProcessRecord) {
      // A restarted node replaces its old record (same name).
      manifest.processes = [...manifest.processes.filter((known) => known.name !== record.name), record];
      writeManifest(dir, manifest);
    },
  };
  if (!detached) liveTopologies.set(dir, { stopOnSignal: options.stopOnSignal ?? true });
  installExitHooks();

  const postgresOptions = options.postgres === false ? undefined : (options.postgres ?? {});
  const redisOptions = options.redis === false ? undefined : (options.redis ?? {});
  const clusterOptions = options.redisCluster || undefined;
  const results = await Promise.allSettled([
    postgresOptions
      ? startPostgres({
          dir: join(dir, 'postgres'),
          replicas: postgresOptions.replicas ?? 2,
          detached,
          tracker,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(postgresOptions.maxConnections === undefined ? {} : { maxConnections: postgresOptions.maxConnections }),
        })
      : Promise.resolve(undefined),
    redisOptions
      ? startRedis({
          dir: join(dir, 'redis'),
          replicas: redisOptions.replicas ?? 2,
          sentinels: redisOptions.sentinels ?? 3,
          detached,
          tracker,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(redisOptions.downAfterMs === undefined ? {} : { downAfterMs: redisOptions.downAfterMs }),
        })
      : Promise.resolve(undefined),
    clusterOptions
      ? startRedisCluster({
          dir: join(dir, 'redis-cluster'),
          detached,
          tracker,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(clusterOptions.masters === undefined ? {} : { masters: clusterOptions.masters }),
          ...(clusterOptions.replicasPerMaster === undefined
            ? {}
            : { replicasPerMaster: clusterOptions.replicasPerMaster }),
          ...(clusterOptions.nodeTimeoutMs === undefined ? {} : { nodeTimeoutMs: clusterOptions.nodeTimeoutMs }),
        })
      : Promise.resolve(undefined),
  ]);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) {
    try {
      await stopTopologyDir(dir);
    } catch (cleanupError) {
      throw new InfraError(`start failed, and so did cleaning up: ${String(cleanupError)}`, undefined, {
        cause: failure.reason,
      });
    }
    throw failure.reason;
  }
  const [postgres, redis, redisCluster] = results.map((result) =>
    result.status === 'fulfilled' ? result.value : undefined,
  ) as [PostgresCluster | undefined, RedisGroup | undefined, RedisCluster | undefined];
  const info: TopologyInfo = {
    ...(postgres ? { postgres: postgres.info() } : {}),
    ...(redis ? { redis: redis.info() } : {}),
    ...(redisCluster ? { redisCluster: redisCluster.info() } : {}),
  };
  manifest.info = info;
  writeManifest(dir, manifest);

  let stopped: Promise<void> | undefined;
  return {
    dir,
    info,
    postgres,
    redis,
    redisCluster,
    stop() {
      stopped ??= (async () => {
        await Promise.all([redis?.stop(), redisCluster?.stop()]);
        await postgres?.stop();
        await stopTopologyDir(dir);
      })();
      return stopped;
    },
  };
}

/**
 * Stops every process a topology dir's manifest lists (each by pid and start time, so nothing
 * else is ever signalled), waits until they are gone, and removes the dir.
 */
export async function stopTopologyDir(dir: string): Promise<void> {
  const manifest = readManifest(dir);
  if (manifest) {
    // Redis Sentinels before data nodes, and replicas before primaries: reverse start order.
    const processes = [...manifest.processes].reverse();
    const sentinels = processes.filter((record) => record.name.includes('sentinel'));
    await Promise.all(sentinels.map((record) => stopProcess(record)));
    await Promise.all(processes.filter((record) => !sentinels.includes(record)).map((record) => stopProcess(record)));
    const survivors = manifest.processes.filter((record) => isRunning(record));
    if (survivors.length > 0) {
      throw new InfraError(
        `still running after stop: ${survivors.map((record) => `${record.name} (pid ${record.pid})`).join(', ')}`,
      );
    }
    // So that `ps` right after `down` shows nothing, not even zombies waiting for PID 1.
    await Promise.all(manifest.processes.map((record) => waitUntilReaped(record, 3_000)));
  }
  liveTopologies.delete(dir);
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
}

// Topologies of this process that must not outlive it.
const liveTopologies = new Map<string, { stopOnSignal: boolean }>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL every server and its children, then delete the dirs.
  process.on('exit', () => killLiveTopologiesSync(false));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killLiveTopologiesSync(true);
      // When nobody else (a test runner, say) handles the signal, exit as the default would.
      if (process.listenerCount(signal) === 1) process.exit(128 + signalNumber(signal));
    });
  }
}

/** On a signal, only the topologies that asked for it; on exit, every one still live. */
function killLiveTopologiesSync(onSignal: boolean): void {
  for (const [dir, { stopOnSignal }] of liveTopologies) {
    if (onSignal && !stopOnSignal) continue;
    for (const record of readManifest(dir)?.processes ?? []) {
      signalTree(record, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    liveTopologies.delete(dir);
  }
}

function signalNumber(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP'): number {
  return { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal];
}

/**
 * Stops topologies left behind by test processes that died without cleaning up (SIGKILL,
 * OOM). Only non-detached topologies whose owner process is gone are touched.
 */
export async function reapOrphans(baseDir = tmpdir()): Promise<string[]> {
  if (!existsSync(baseDir)) return [];
  const reaped: string[] = [];
  for (const entry of readdirSync(baseDir)) {
    if (!entry.startsWith(TOPOLOGY_DIR_PREFIX)) continue;
    const dir = join(baseDir, entry);
    const manifest = readManifest(dir);
    if (!manifest || manifest.detached || isRunning(manifest.owner)) continue;
    await stopTopologyDir(dir).catch(() => undefined);
    reaped.push(dir);
  }
  return reaped;
}
