import { appendFileSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ensurePostgres, type PostgresBinaries } from './binaries.ts';
import { InfraError } from './errors.ts';
import { freePort } from './ports.ts';
import { allSettledOrThrow, pollUntil, runCommand } from './process.ts';
import { type ClusterStartOptions, type NodeContext, nodeContext, ServerNode } from './server-node.ts';
import type { PostgresInfo } from './types.ts';

export interface PostgresReplicaOptions {
  /** `recovery_min_apply_delay`: the replica applies each transaction this long after commit. @default 0 */
  applyDelayMs?: number;
}

export interface PostgresClusterOptions extends ClusterStartOptions {
  /** Streaming replicas: a count, or one options object per replica. @default 0 */
  replicas?: number | PostgresReplicaOptions[];
  /** `max_connections` on every server; concurrent suites share them. @default 200 */
  maxConnections?: number;
}

type NodeRole = 'primary' | 'replica';

/** One PostgreSQL server of a cluster. */
export class PostgresNode extends ServerNode {
  constructor(
    readonly role: NodeRole,
    name: string,
    port: number,
    readonly dataDir: string,
    readonly applyDelayMs: number,
    private readonly context: NodeContext<PostgresBinaries>,
  ) {
    super(name, port);
  }

  /** `postgres://postgres@127.0.0.1:PORT/postgres`; pass `database` for another database. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the server on its data dir and waits until it accepts queries in its role. */
  async start(): Promise<void> {
    const { binaries, detached, tracker, startTimeoutMs } = this.context;
    const expectRecovery = this.role === 'replica';
    await this.launch(
      {
        command: join(binaries.binDir, 'postgres'),
        args: ['-D', this.dataDir],
        logFile: join(this.context.dir, `${this.name}.log`),
        stopSignal: 'SIGINT',
        user: binaries.user,
        detached,
      },
      tracker,
      {
        what: 'to accept connections',
        timeoutMs: startTimeoutMs,
        signal: this.context.signal,
        isReady: async () => {
          // postmaster.pid: line 1 is the pid (a stale file from a killed server names another),
          // line 8 the status, `ready` on a primary and on a hot standby.
          const lines = readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n');
          const status = lines[7]?.trim();
          if (Number(lines[0]) !== this.pid || (status !== 'ready' && status !== 'standby')) return false;
          const inRecovery = await queryOne<{ r: boolean }>(this.url(), 'SELECT pg_is_in_recovery() AS r');
          if (inRecovery.r !== expectRecovery) {
            throw new InfraError(
              `${this.name} started as ${inRecovery.r ? 'a standby' : 'a primary'}, expected ${this.role}`,
            );
          }
          return true;
        },
      },
    );
  }
}

/** A primary and its streaming replicas. */
export class PostgresCluster {
  constructor(
    readonly primary: PostgresNode,
    readonly replicas: PostgresNode[],
  ) {}

  get nodes(): PostgresNode[] {
    return [this.primary, ...this.replicas];
  }

  info(database = 'postgres'): PostgresInfo {
    return { primary: this.primary.url(database), replicas: this.replicas.map((replica) => replica.url(database)) };
  }

  /** Replicas first (so they do not log reconnect errors), then the primary. */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.stop()));
    await this.primary.stop();
  }
}

/**
 * Starts a PostgreSQL primary and N streaming replicas (pg_basebackup -R, one replication slot
 * each) on free loopback ports, and waits until every replica streams from the primary.
 */
export async function startPostgres(options: PostgresClusterOptions): Promise<PostgresCluster> {
  const binaries = ensurePostgres();
  const replicaOptions = normalizeReplicas(options.replicas);
  const context = nodeContext(options, binaries);
  if (binaries.user) chownSync(options.dir, binaries.user.uid, binaries.user.gid);

  const primary = new PostgresNode(
    'primary',
    'postgres-primary',
    await freePort(),
    join(options.dir, 'primary'),
    0,
    context,
  );
  throwIfAborted(options.signal);
  await runCommand(
    join(binaries.binDir, 'initdb'),
    [
      '-D',
      primary.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '--no-instructions',
      '-E',
      'UTF8',
      '--locale=C',
    ],
    { user: binaries.user },
  );
  configurePrimary(primary, options.maxConnections ?? 200);
  await primary.start();

  const replicas = await allSettledOrThrow(
    replicaOptions.map(async (replicaOption, index) => {
      const name = `postgres-replica${index + 1}`;
      const replica = new PostgresNode(
        'replica',
        name,
        await freePort(),
        join(options.dir, `replica${index + 1}`),
        replicaOption.applyDelayMs ?? 0,
        context,
      );
      throwIfAborted(options.signal);
      await runCommand(
        join(binaries.binDir, 'pg_basebackup'),
        [
          ...['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', replica.dataDir],
          ...['-R', '-X', 'stream', '-c', 'fast', '-C', '-S', `replica${index + 1}`, '--no-sync'],
        ],
        { user: binaries.user },
      );
      appendFileSync(
        join(replica.dataDir, 'postgresql.conf'),
        [
          `port = ${replica.port}`,
          `cluster_name = '${name}'`,
          `recovery_min_apply_delay = '${replica.applyDelayMs}ms'`,
          '',
        ].join('\n'),
      );
      await replica.start();
      return replica;
    }),
  );

  const cluster = new PostgresCluster(primary, replicas);
  if (replicas.length > 0) {
    await pollUntil(
      `${replicas.length} replica(s) to stream from the primary`,
      async () => {
        const row = await queryOne<{ n: number }>(
          primary.url(),
          "SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'",
        );
        return row.n >= replicas.length ? true : undefined;
      },
      { timeoutMs: context.startTimeoutMs },
    );
  }
  return cluster;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InfraError('start aborted');
}

function normalizeReplicas(replicas: PostgresClusterOptions['replicas']): PostgresReplicaOptions[] {
  if (replicas === undefined) return [];
  if (typeof replicas === 'number') {
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new TypeError(`replicas must be a whole number >= 0, got ${replicas}`);
    return Array.from({ length: replicas }, () => ({}));
  }
  for (const replica of replicas) {
    const delay = replica.applyDelayMs ?? 0;
    if (!Number.isInteger(delay) || delay < 0)
      throw new TypeError(`applyDelayMs must be a whole number >= 0, got ${delay}`);
  }
  return replicas;
}

function configurePrimary(primary: PostgresNode, maxConnections: number): void {
  // Loopback IPv4 only: the ::1 lines would accept connections we never test.
  const hbaFile = join(primary.dataDir, 'pg_hba.conf');
  const hba = readFileSync(hbaFile, 'utf8')
    .split('\n')
    .filter((line) => !line.includes('::1/128'))
    .join('\n');
  writeFileSync(hbaFile, hba);
  appendFileSync(
    join(primary.dataDir, 'postgresql.conf'),
    [
      '',
      "listen_addresses = '127.0.0.1'",
      `port = ${primary.port}`,
      // No Unix socket: it could clash with a system server's, and every client here uses TCP.
      "unix_socket_directories = ''",
      'wal_level = replica',
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      // Replicas are cloned in parallel, each forcing a checkpoint: without kept WAL, one clone's
      // checkpoint can recycle a segment another still needs before its slot exists.
      "wal_keep_size = '128MB'",
      'hot_standby = on',
      // Throwaway data: skip durability work. synchronous_commit stays on, because with it off WAL
      // reaches replicas only when the WAL writer flushes (up to ~400 ms of artificial lag).
      'fsync = off',
      'full_page_writes = off',
      'synchronous_commit = on',
      'shared_buffers = 16MB',
      `max_connections = ${maxConnections}`,
      "log_min_messages = 'warning'",
      '',
    ].join('\n'),
  );
}

/** One query over a fresh connection (readiness and smoke checks; not for hot paths). */
export async function queryOne<Row>(url: string, sql: string, params: unknown[] = []): Promise<Row> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {
    // A server killed under an open connection emits 'error' on the client; the query rejects too.
  });
  await client.connect();
  try {
    const result = await client.query(sql, params);
    return result.rows[0] as Row;
  } finally {
    await client.end().catch(() => undefined);
  }
}
