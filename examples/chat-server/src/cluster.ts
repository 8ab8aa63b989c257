// `npm run cluster`: the chat server as a cluster on this machine. tools/infra starts a
// PostgreSQL primary with two streaming replicas and a Redis master with two replicas and three
// Sentinels on free loopback ports (with `-- --redis-cluster`: a Redis Cluster of three masters
// with a replica each instead of the Sentinel group); then CLUSTER_INSTANCES (default 2) server
// processes share them, on PORT, PORT+1, ... (default 4000), with METRICS_PORT, METRICS_PORT+1,
// ... if set. Ctrl-C stops the servers, then the infrastructure.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTopology, type Topology } from '@switchboard/infra';
import { ConfigError } from './config.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const URL_LINE = /Switchboard chat server: (\S+)/;

const USAGE = 'usage: npm run cluster [-- --redis-cluster]';

async function main(): Promise<void> {
  const redisCluster = parseFlags(process.argv.slice(2));
  const instances = count('CLUSTER_INSTANCES', 2, 1, 16);
  const basePort = count('PORT', 4000, 0, 65_535);
  const metricsBasePort = process.env.METRICS_PORT?.trim() ? count('METRICS_PORT', 0, 0, 65_535) : undefined;
  const redisShape = redisCluster
    ? 'a Redis Cluster (3 masters + 1 replica each)'
    : 'Redis (master + 2 replicas + 3 Sentinels)';
  process.stdout.write(`starting PostgreSQL (primary + 2 replicas) and ${redisShape}...\n`);
  // Ctrl-C stops the servers first (they finish their requests), then the infrastructure.
  const topology = await startTopology({
    postgres: { replicas: 2 },
    redis: redisCluster ? false : { replicas: 2, sentinels: 3 },
    redisCluster: redisCluster ? { masters: 3, replicasPerMaster: 1 } : false,
    stopOnSignal: false,
  });
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(children.map((child) => stopChild(child)));
    await topology.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const env = clusterEnvironment(topology);
    const urls = await Promise.all(
      Array.from({ length: instances }, async (_, i) => {
        const child = spawn(process.execPath, ['--conditions=@switchboard/source', '--import', 'tsx', MAIN], {
          env: {
            ...process.env,
            ...env,
            INSTANCES: String(instances),
            PORT: String(basePort === 0 ? 0 : basePort + i),
            // Each instance's own metrics listener, numbered like PORT.
            ...(metricsBasePort === undefined
              ? {}
              : { METRICS_PORT: String(metricsBasePort === 0 ? 0 : metricsBasePort + i) }),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(child);
        return instanceUrl(child, i + 1);
      }),
    );
    process.stdout.write(
      [
        `Switchboard chat cluster: ${instances} instance(s)`,
        ...urls.map((url, i) => `  instance ${i + 1}: ${url} (pid ${children[i]?.pid})`),
        `  PostgreSQL primary ${topology.info.postgres?.primary}`,
        topology.info.redisCluster
          ? `  Redis Cluster nodes ${addresses(topology.info.redisCluster.nodes).join(', ')}`
          : `  Redis Sentinels ${addresses(topology.info.redis?.sentinels ?? []).join(', ')}`,
        `  servers' files in ${topology.dir}`,
        'Stop with Ctrl-C.',
        '',
      ].join('\n'),
    );
    for (const child of children) {
      child.once('exit', (code) => {
        if (!stopping) {
          process.stderr.write(`an instance exited (${code}): stopping the cluster\n`);
          void stop(1);
        }
      });
    }
  } catch (error) {
    process.stderr.write(`cluster failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    await stop(1);
  }
}

/**
 * What every instance is given: the shared primary, replicas, and Sentinels or Redis Cluster
 * nodes. The other Redis variables are blanked: one inherited from the shell would make the
 * instances refuse to start (they are exclusive).
 */
function clusterEnvironment(topology: Topology): Record<string, string> {
  const { postgres, redis, redisCluster } = topology.info;
  if (!postgres || (!redis && !redisCluster)) throw new Error('the topology came up without PostgreSQL or Redis');
  const database = { DATABASE_URL: postgres.primary, DATABASE_REPLICA_URLS: postgres.replicas.join(',') };
  if (redisCluster) {
    return {
      ...database,
      REDIS_URL: '',
      REDIS_SENTINELS: '',
      REDIS_MASTER_NAME: '',
      REDIS_CLUSTER_NODES: addresses(redisCluster.nodes).join(','),
    };
  }
  return {
    ...database,
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: '',
    REDIS_SENTINELS: addresses(redis?.sentinels ?? []).join(','),
    REDIS_MASTER_NAME: redis?.masterName ?? '',
  };
}

const addresses = (nodes: readonly { host: string; port: number }[]) =>
  nodes.map((node) => `${node.host}:${node.port}`);

/** `--redis-cluster`: a Redis Cluster instead of the Sentinel group. Anything else is refused. */
function parseFlags(args: string[]): boolean {
  try {
    const { values } = parseArgs({ args, options: { 'redis-cluster': { type: 'boolean', default: false } } });
    return values['redis-cluster'];
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Resolves with the instance's URL from its banner; what it prints afterwards is passed through. */
function instanceUrl(child: ChildProcess, number: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let started = false;
    let printed = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (started) {
        process.stdout.write(text.replace(/^(?=.)/gm, `[${number}] `));
        return;
      }
      printed += text;
      const url = URL_LINE.exec(printed)?.[1];
      if (url) {
        started = true;
        resolve(url);
      }
    });
    child.once('exit', (code) => {
      if (!started) reject(new Error(`instance ${number} exited during start (${code})`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

function count(variable: string, fallback: number, min: number, max: number): number {
  const raw = process.env[variable]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(variable, `must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}

main().catch((error: unknown) => {
  const prefix =
    error instanceof ConfigError
      ? 'invalid configuration'
      : error instanceof UsageError
        ? 'npm run cluster'
        : 'cluster failed';
  process.stderr.write(`${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
