import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateSigningKey, type PrivateSigningJwk } from '@switchboard/auth';
import { startTopology, type Topology } from '@switchboard/infra';
import { SERVER_MAIN } from './build-check.ts';
import { serverEnvironment } from './environment.ts';
import { LOAD_DIR_PREFIX, reapLoadOrphans, recordOwner } from './orphans.ts';
import { type ServerProcess, startServerProcess } from './processes.ts';

export type Mode = 'embedded' | 'cluster';

export interface SystemOptions {
  /** `target`: a server that is already running at `target` (nothing is started). */
  mode: Mode | 'target';
  target?: string;
  /** Server instances in cluster mode. @default 2 */
  instances?: number;
  /** Extra environment for every server (`--server-env KEY=VALUE`), over the load defaults. */
  serverEnv?: Record<string, string>;
  /** Run every server with `--cpu-prof`, profiles written here when it stops. */
  cpuProfDir?: string;
  /** Keep the temp dir (logs, data) after `stop()`. */
  keepDir?: boolean;
  /** Stops the start half-way (Ctrl-C); what was started is stopped. */
  signal?: AbortSignal;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One chat server: its own `node` process (absent for a `--target`). */
export interface Instance {
  name: string;
  url: string;
  process: ServerProcess | undefined;
}

/** What a scenario or drill measures, started (and stopped) by the harness. */
export interface SystemUnderTest {
  mode: Mode | 'target';
  /** Temp dir: every server's log, the embedded data, the topology. */
  dir: string;
  instances: Instance[];
  /** The primary, for the harness's own seeding and checks (superuser); undefined for a target. */
  databaseUrl: string | undefined;
  /** The servers' access-token keys, to mint tokens as they would; undefined for a target. */
  signingKeys: PrivateSigningJwk[] | undefined;
  /** Cluster mode: the PostgreSQL and Redis servers (to kill, pause, restart in drills). */
  topology: Topology | undefined;
  /**
   * PostgreSQL (the primary's postmaster, the replicas') and Redis (servers and Sentinels)
   * processes: their CPU counts for every scenario.
   */
  dataProcesses(): { postgres: number[]; replicas?: number[]; redis?: number[] };
  /** The chat servers' processes (embedded: the PostgreSQL they started is below them). */
  serverPids(): number[];
  /** The bare graphql-yoga + pg server on the same PostgreSQL, started on first use. */
  baseline(): Promise<ServerProcess>;
  /** Servers first (they finish their requests), then PostgreSQL and Redis; removes the temp dir. */
  stop(): Promise<void>;
}

const BANNER = /Switchboard chat server: (\S+)/;
const BASELINE_BANNER = /Baseline server: (\S+)/;
const BASELINE_SCRIPT = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export async function startSystem(options: SystemOptions): Promise<SystemUnderTest> {
  const log = options.log ?? (() => {});
  await reapLoadOrphans(tmpdir());
  const dir = mkdtempSync(join(tmpdir(), LOAD_DIR_PREFIX));
  // PostgreSQL runs as the `postgres` OS user and must reach its data dirs inside.
  chmodSync(dir, 0o755);
  const owner = recordOwner(dir, options.keepDir ?? false);
  const cleanups: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      // Last started, first stopped: servers before the databases they use.
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const execArgv = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  const startServer = async (name: string, env: Record<string, string>): Promise<ServerProcess> => {
    const server = await startServerProcess({
      name,
      args: [SERVER_MAIN],
      execArgv,
      env: serverEnvironment({ ...env, ...options.serverEnv }),
      logFile: join(dir, `${name}.log`),
      banner: BANNER,
    });
    owner.addServer(server.pid);
    cleanups.push(() => server.stop());
    return server;
  };
  const aborted = () => {
    if (options.signal?.aborted) throw new Error('stopped');
  };

  try {
    let instances: Instance[];
    let databaseUrl: string | undefined;
    let signingKeys: PrivateSigningJwk[] | undefined;
    let topology: Topology | undefined;
    let dataProcesses: SystemUnderTest['dataProcesses'] = () => ({ postgres: [] });

    if (options.mode === 'target') {
      if (!options.target) throw new TypeError('target mode needs a URL');
      instances = [{ name: 'target', url: options.target, process: undefined }];
    } else {
      signingKeys = [await generateSigningKey({ alg: 'EdDSA' })];
      const common = { PORT: '0', ACCESS_TOKEN_KEYS: JSON.stringify(signingKeys) };
      if (options.mode === 'embedded') {
        const dataDir = join(dir, 'data');
        log('starting the chat server (embedded PostgreSQL)...');
        const server = await startServer('server', { ...common, DATA_DIR: dataDir });
        instances = [{ name: 'server', url: server.url, process: server }];
        const database = embeddedDatabase(dataDir);
        databaseUrl = database.url;
        dataProcesses = () => ({ postgres: [database.pid] });
      } else {
        log('starting PostgreSQL (primary + 2 replicas) and Redis (master + 2 replicas + 3 Sentinels)...');
        const started = await startTopology({
          postgres: { replicas: 2 },
          redis: { replicas: 2, sentinels: 3 },
          stopOnSignal: false,
          baseDir: dir,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        topology = started;
        cleanups.push(() => started.stop());
        aborted();
        const postgres = started.info.postgres;
        const redis = started.info.redis;
        if (!postgres || !redis) throw new Error('the topology came up without PostgreSQL or Redis');
        databaseUrl = postgres.primary;
        dataProcesses = () => ({
          postgres: started.postgres ? [started.postgres.primary.pid] : [],
          replicas: (started.postgres?.replicas ?? []).map((node) => node.pid),
          redis: (started.redis?.nodes ?? []).map((node) => node.pid),
        });
        const count = options.instances ?? 2;
        log(`starting ${count} chat server instances...`);
        instances = await Promise.all(
          Array.from({ length: count }, async (_, i) => {
            const name = `instance${i + 1}`;
            const dataDir = join(dir, name);
            mkdirSync(dataDir, { recursive: true, mode: 0o700 });
            const server = await startServer(name, {
              ...common,
              DATA_DIR: dataDir,
              DATABASE_URL: postgres.primary,
              DATABASE_REPLICA_URLS: postgres.replicas.join(','),
              REDIS_SENTINELS: redis.sentinels.map((node) => `${node.host}:${node.port}`).join(','),
              REDIS_MASTER_NAME: redis.masterName,
              INSTANCES: String(count),
            });
            return { name, url: server.url, process: server };
          }),
        );
      }
      aborted();
    }

    let baseline: Promise<ServerProcess> | undefined;
    return {
      mode: options.mode,
      dir,
      instances,
      databaseUrl,
      signingKeys,
      topology,
      dataProcesses,
      serverPids: () => instances.flatMap((instance) => (instance.process ? [instance.process.pid] : [])),
      baseline: () => {
        if (!databaseUrl) return Promise.reject(new Error('the baseline needs the database of the system under test'));
        baseline ??= startServerProcess({
          name: 'baseline',
          args: [BASELINE_SCRIPT],
          execArgv: ['--import', TSX_LOADER, ...execArgv],
          env: serverEnvironment({ PORT: '0', DATABASE_URL: databaseUrl, ...options.serverEnv }),
          logFile: join(dir, 'baseline.log'),
          banner: BASELINE_BANNER,
        }).then((server) => {
          owner.addServer(server.pid);
          cleanups.push(() => server.stop());
          return server;
        });
        return baseline;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The embedded PostgreSQL the server started in `dataDir`: its port and pid from
 * `postmaster.pid` (line 4 and line 1), its password from the file the server keeps beside it.
 */
function embeddedDatabase(dataDir: string): { url: string; pid: number } {
  const lines = readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n');
  const password = readFileSync(join(dataDir, 'postgres-password'), 'utf8').trim();
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${Number(lines[3])}/switchboard`,
    pid: Number(lines[0]),
  };
}
