import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { queryOne } from './postgres.ts';
import { pollUntil } from './process.ts';
import { redisCommand } from './resp.ts';
import { startTopology, type Topology, type TopologyOptions } from './topology.ts';
import type { PostgresInfo, TopologyInfo } from './types.ts';

/**
 * A database of its own on the shared primary (visible on every replica), so that test files
 * running in parallel never see each other's tables. Returns URLs for primary and replicas.
 *
 * @example
 * const db = await createTestDatabase(inject('infra'), 'ratelimit');
 * const pool = new pg.Pool({ connectionString: db.primary });
 */
export async function createTestDatabase(info: TopologyInfo, label: string): Promise<PostgresInfo> {
  if (!info.postgres) throw new Error('the topology has no Postgres');
  const name = uniqueName(label);
  await queryOne(info.postgres.primary, `CREATE DATABASE "${name}"`);
  const database: PostgresInfo = {
    primary: withDatabase(info.postgres.primary, name),
    replicas: info.postgres.replicas.map((url) => withDatabase(url, name)),
  };
  // Replication is asynchronous: hand the database out once every replica has it.
  await Promise.all(
    database.replicas.map((url) =>
      pollUntil(`database ${name} to reach replica ${url}`, () => queryOne(url, 'SELECT 1 AS ok').then(() => true), {
        timeoutMs: 15_000,
      }),
    ),
  );
  return database;
}

/** A Redis key prefix no other test file uses, e.g. `test:cache:k3j9x2:`. */
export function testKeyPrefix(label: string): string {
  return `test:${uniqueName(label)}:`;
}

/**
 * A topology of the test's own, for tests that kill, pause or delay servers. Stop it in
 * `afterAll`; it is also killed if the test process dies.
 */
export function startTestTopology(options: TopologyOptions): Promise<Topology> {
  return startTopology({ ...options, detached: false });
}

function uniqueName(label: string): string {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 40);
  return `t_${safe}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Wraps a pg pool (or anything with `query`) so a test can count the round trips a store makes.
 *
 * @example
 * const counted = countQueries(pool); await store.rotate(...); expect(counted.queries).toBe(1);
 */
export function countQueries<P extends { query: (...args: never[]) => unknown }>(pool: P): P & { queries: number } {
  const counted = {
    queries: 0,
    query: (...args: never[]) => {
      counted.queries++;
      return pool.query(...args);
    },
  };
  return counted as unknown as P & { queries: number };
}

/**
 * How many connections are subscribed to `channel` across a Redis Cluster (classic, or sharded
 * with `sharded: true`): PUBSUB NUMSUB / SHARDNUMSUB count a node's own connections, so every
 * node (masters and replicas) is asked. For tests of buses whose `subscribe` does not wait for
 * the server: poll it until the subscribers are in place.
 */
export async function clusterSubscribers(
  nodes: readonly { port: number }[],
  channel: string,
  sharded: boolean,
): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const reply = await redisCommand(node.port, ['PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', channel]);
    total += Number(Array.isArray(reply) ? reply[1] : 0);
  }
  return total;
}

/** Resolves once `count` connections are subscribed to `channel` across the cluster ({@link clusterSubscribers}). */
export async function untilClusterSubscribers(
  nodes: readonly { port: number }[],
  channel: string,
  sharded: boolean,
  count: number,
): Promise<void> {
  await pollUntil(
    `${count} ${sharded ? 'sharded ' : ''}subscribers of ${channel}`,
    async () => ((await clusterSubscribers(nodes, channel, sharded)) === count ? true : undefined),
    { timeoutMs: 5_000, intervalMs: 10 },
  );
}

/**
 * What a test file of a bus on the shared Redis Cluster needs: `cluster(options)` opens a Cluster
 * client of its own (each instance in such a test is another process in effect; all are
 * disconnected by `disconnectAll`, for `afterAll`), the two pub/sub `modes` a bus runs in
 * (classic; sharded, whose subscriber needs `shardedSubscribers`), and `untilSubscribed`.
 */
export function clusterBusTestKit(nodes: readonly { host: string; port: number }[]) {
  const clients: Cluster[] = [];
  const cluster = (options: { shardedSubscribers?: boolean; lazyConnect?: boolean } = {}): Cluster => {
    const client = new Cluster([...nodes], options);
    clients.push(client);
    return client;
  };
  return {
    cluster,
    modes: [
      { name: 'classic pub/sub', sharded: false, subscriber: () => cluster() },
      { name: 'sharded pub/sub', sharded: true, subscriber: () => cluster({ shardedSubscribers: true }) },
    ] as const,
    untilSubscribed: (channel: string, sharded: boolean, count: number) =>
      untilClusterSubscribers(nodes, channel, sharded, count),
    disconnectAll: () => {
      for (const client of clients.splice(0)) client.disconnect();
    },
  };
}

/**
 * A Cluster client for failover drills: it looks for a failed-over slot's new master every
 * 100 ms (`retryDelayOnFailover`, `retryDelayOnClusterDown`, `clusterRetryStrategy`) instead of
 * failing the command, reads on masters, and ignores the connection errors of killed nodes (the
 * drills check failed commands, not connection events). Disconnect it when done.
 */
export function drillClusterClient(nodes: readonly { host: string; port: number }[]): Cluster {
  const client = new Cluster([...nodes], {
    scaleReads: 'master',
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    clusterRetryStrategy: () => 100,
  });
  client.on('error', () => {});
  return client;
}

/**
 * Polls `read` every 5 ms until it gives `expected`; resolves with how long that took, or
 * rejects after `timeoutMs`. For "B sees A's change within N ms" assertions.
 */
export async function timeUntil(read: () => Promise<unknown>, expected: unknown, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    if ((await read()) === expected) return Date.now() - startedAt;
    await sleep(5);
  }
  throw new Error(`did not read ${String(expected)} within ${timeoutMs} ms`);
}
