// `npm run cluster`: the chat server as a cluster on this machine. tools/infra starts a
// PostgreSQL primary with two streaming replicas and a Redis master with two replicas and three
// Sentinels on free loopback ports; then CLUSTER_INSTANCES (default 2) server processes share
// them, on PORT, PORT+1, ... (default 4000), with METRICS_PORT, METRICS_PORT+1, ... if set.
// Ctrl-C stops the servers, then the infrastructure.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startTopology, type Topology } from '@switchboard/infra';
import { ConfigError } from './config.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const URL_LINE = /Switchboard chat server: (\S+)/;

async function main(): Promise<void> {
  const instances = count('CLUSTER_INSTANCES', 2, 1, 16);
  const basePort = count('PORT', 4000, 0, 65_535);
  const metricsBasePort = process.env.METRICS_PORT?.trim() ? count('METRICS_PORT', 0, 0, 65_535) : undefined;
  process.stdout.write('starting PostgreSQL (primary + 2 replicas) and Redis (master + 2 replicas + 3 Sentinels)...\n');
  // Ctrl-C stops the servers first (they finish their requests), then the infrastructure.
  const topology = await startTopology({
    postgres: { replicas: 2 },
    redis: { replicas: 2, sentinels: 3 },
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
        `  Redis Sentinels ${topology.info.redis?.sentinels.map((node) => `${node.host}:${node.port}`).join(', ')}`,
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

/** What every instance is given: the shared primary, replicas and Sentinels. */
function clusterEnvironment(topology: Topology): Record<string, string> {
  const postgres = topology.info.postgres;
  const redis = topology.info.redis;
  if (!postgres || !redis) throw new Error('the topology came up without PostgreSQL or Redis');
  return {
    DATABASE_URL: postgres.primary,
    DATABASE_REPLICA_URLS: postgres.replicas.join(','),
    REDIS_SENTINELS: redis.sentinels.map((node) => `${node.host}:${node.port}`).join(','),
    REDIS_MASTER_NAME: redis.masterName,
  };
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
  const prefix = error instanceof ConfigError ? 'invalid configuration' : 'cluster failed';
  process.stderr.write(`${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
