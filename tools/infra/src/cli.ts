import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readManifest } from './manifest.ts';
import { isRunning } from './process.ts';
import { startTopology, stopTopologyDir, type TopologyOptions } from './topology.ts';

const USAGE = `usage: npm run infra -- <command> [options]

commands:
  up       start Postgres and Redis (and, when asked, a Redis Cluster) detached, print
           connection info as JSON on stdout, exit
  down     stop exactly what 'up' started and remove its temp dir
  status   print the connection info of what is up (exit 1 when nothing is)

options for up:
  --replicas N          replicas for both Postgres and Redis (default 2)
  --pg-replicas N       Postgres streaming replicas (overrides --replicas)
  --redis-replicas N    Redis replicas (overrides --replicas)
  --sentinels N         Redis Sentinels (default 3)
  --lag-ms MS           recovery_min_apply_delay of the last Postgres replica (default 0)
  --no-postgres         start no Postgres
  --no-redis            start no Redis (master, replicas, Sentinels)
  --redis-cluster       also start a Redis Cluster (3 masters with 1 replica each by default);
                        JSON gains redisCluster.nodes
  --redis-cluster-masters N    masters of the Redis Cluster (default 3; implies --redis-cluster)
  --redis-cluster-replicas N   replicas of each master (default 1; implies --redis-cluster)

options for all:
  --state FILE          state file (default .infra/state.json, or SWITCHBOARD_INFRA_STATE)`;

interface State {
  dir: string;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv);
  const command = positionals[0];
  if (values.help || !command) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const stateFile = resolve(values.state ?? process.env.SWITCHBOARD_INFRA_STATE ?? '.infra/state.json');

  switch (command) {
    case 'up': {
      const existing = readState(stateFile);
      if (existing && isUp(existing)) {
        fail(`already up (state file ${stateFile}); run 'npm run infra -- down' first`);
        return 1;
      }
      if (existing) await stopTopologyDir(existing.dir);
      const replicas = count('--replicas', values.replicas, 2);
      const pgReplicas = count('--pg-replicas', values['pg-replicas'], replicas);
      const lagMs = count('--lag-ms', values['lag-ms'], 0);
      const wantsCluster =
        values['redis-cluster'] === true ||
        values['redis-cluster-masters'] !== undefined ||
        values['redis-cluster-replicas'] !== undefined;
      const clusterMasters = count('--redis-cluster-masters', values['redis-cluster-masters'], 3);
      if (clusterMasters < 1) throw new UsageError(`--redis-cluster-masters must be at least 1, got ${clusterMasters}`);
      const options: TopologyOptions = {
        detached: true,
        // Recorded before any server starts, so 'down' finds even a half-started topology.
        onDir: (dir) => {
          startingDir = dir;
          mkdirSync(dirname(stateFile), { recursive: true });
          writeFileSync(stateFile, `${JSON.stringify({ dir } satisfies State)}\n`);
        },
        postgres: values['no-postgres']
          ? false
          : {
              replicas: Array.from({ length: pgReplicas }, (_, index) =>
                index === pgReplicas - 1 && lagMs > 0 ? { applyDelayMs: lagMs } : {},
              ),
            },
        redis: values['no-redis']
          ? false
          : {
              replicas: count('--redis-replicas', values['redis-replicas'], replicas),
              sentinels: count('--sentinels', values.sentinels, 3),
            },
        redisCluster: wantsCluster
          ? {
              masters: clusterMasters,
              replicasPerMaster: count('--redis-cluster-replicas', values['redis-cluster-replicas'], 1),
            }
          : false,
      };
      stopOnSignal(stateFile);
      const start = startTopology({ ...options, signal: aborter.signal });
      starting = start;
      const topology = await start;
      startingDir = undefined;
      process.stderr.write(`[infra] up; logs and data in ${topology.dir}; stop with 'npm run infra -- down'\n`);
      process.stdout.write(`${JSON.stringify(topology.info, null, 2)}\n`);
      return 0;
    }
    case 'down': {
      const state = readState(stateFile);
      if (!state) {
        process.stderr.write(`[infra] nothing is up (no state file ${stateFile})\n`);
        return 0;
      }
      await stopTopologyDir(state.dir);
      removeState(stateFile);
      process.stderr.write('[infra] down\n');
      return 0;
    }
    case 'status': {
      const state = readState(stateFile);
      const manifest = state && readManifest(state.dir);
      if (!state || !manifest || !isUp(state)) {
        process.stderr.write('[infra] nothing is up\n');
        return 1;
      }
      process.stdout.write(`${JSON.stringify(manifest.info, null, 2)}\n`);
      return 0;
    }
    default:
      fail(`unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

// The dir of a topology 'up' is starting, until it is fully up, and the start itself.
let startingDir: string | undefined;
let starting: Promise<unknown> | undefined;
const aborter = new AbortController();

/**
 * Ctrl-C (or a closed terminal) during 'up' stops what has started instead of orphaning it:
 * the start is aborted (nothing more is spawned) and awaited, so that every server it did
 * spawn is recorded before the dir is stopped and removed.
 */
function stopOnSignal(stateFile: string): void {
  let handling = false;
  const handler = (signal: NodeJS.Signals) => {
    const dir = startingDir;
    if (!dir) process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
    if (handling) return;
    handling = true;
    process.stderr.write(`[infra] ${signal}: stopping what was started\n`);
    aborter.abort();
    void (starting ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => stopTopologyDir(dir))
      .catch((error: unknown) => fail(`cleanup failed: ${String(error)}; run 'npm run infra -- down'`))
      .finally(() => {
        removeState(stateFile);
        process.exit(130);
      });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, handler);
}

function removeState(stateFile: string): void {
  rmSync(stateFile, { force: true });
  try {
    rmdirSync(dirname(stateFile));
  } catch {
    // Not empty, or not ours to remove.
  }
}

function parseOptions(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        replicas: { type: 'string' },
        'pg-replicas': { type: 'string' },
        'redis-replicas': { type: 'string' },
        sentinels: { type: 'string' },
        'lag-ms': { type: 'string' },
        'no-postgres': { type: 'boolean' },
        'no-redis': { type: 'boolean' },
        'redis-cluster': { type: 'boolean' },
        'redis-cluster-masters': { type: 'string' },
        'redis-cluster-replicas': { type: 'string' },
        state: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function readState(file: string): State | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as State;
    return typeof state.dir === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

function isUp(state: State): boolean {
  const manifest = readManifest(state.dir);
  return manifest?.processes.some((record) => isRunning(record)) ?? false;
}

function count(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new UsageError(`${flag} must be a whole number >= 0, got '${raw}'`);
  }
  return value;
}

class UsageError extends Error {}

function fail(message: string): void {
  process.stderr.write(`[infra] ${message}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    fail(error instanceof Error ? error.message : String(error));
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
