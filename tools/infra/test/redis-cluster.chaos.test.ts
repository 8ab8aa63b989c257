import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLUSTER_SLOTS, drillClusterClient, type RedisNode, startTestTopology, type Topology } from '../src/index.ts';
import { parseInfo } from '../src/resp.ts';
import { waitFor } from './wait-for.ts';

function fail(message: string): never {
  throw new Error(message);
}

// One topology for the file: a Sentinel group and a cluster side by side, the drills on the cluster.
describe('Redis Cluster', () => {
  let topology: Topology;
  let client: Cluster;
  const cluster = () => topology.redisCluster ?? fail('no redis cluster');
  // A key, its slot, and the master serving it when the file starts.
  const key = 'cluster:greeting';
  let slot: number;

  beforeAll(async () => {
    const startedAt = Date.now();
    topology = await startTestTopology({
      postgres: false,
      redis: { replicas: 1, sentinels: 3 },
      redisCluster: { masters: 3, replicasPerMaster: 1 },
    });
    process.stderr.write(`[infra test] Sentinel group + 3x2 Redis Cluster up in ${Date.now() - startedAt} ms\n`);
    const [first] = cluster().nodes;
    slot = Number(await first?.command('CLUSTER', 'KEYSLOT', key));
    client = drillClusterClient([cluster().info().nodes[0] ?? fail('no nodes')]);
  });

  afterAll(async () => {
    client?.disconnect();
    await topology?.stop();
  });

  test('every master serves slots, all 16384 are covered, each master has its replica', async () => {
    expect(topology.info.redisCluster?.nodes).toHaveLength(6);
    const shards = await cluster().shards();
    expect(shards).toHaveLength(3);
    const ranges = shards.flatMap((shard) => shard.slots).sort((a, b) => a[0] - b[0]);
    // Contiguous, no overlap, from 0 to 16383.
    let next = 0;
    for (const [from, to] of ranges) {
      expect(from).toBe(next);
      next = to + 1;
    }
    expect(next).toBe(CLUSTER_SLOTS);
    for (const shard of shards) {
      expect(shard.master.startRole).toBe('master');
      expect(shard.replicas).toHaveLength(1);
      expect(await cluster().replicasOf(shard.master)).toEqual(shard.replicas);
    }
    expect(await cluster().masters()).toEqual(cluster().nodes.slice(0, 3));
    for (const node of cluster().nodes) {
      expect(parseInfo(await node.command('CLUSTER', 'INFO')).cluster_state).toBe('ok');
    }
  });

  test('a node that does not serve a key answers MOVED; a cluster client follows it', async () => {
    const owner = await cluster().masterForSlot(slot);
    const other = (await cluster().masters()).find((node) => node !== owner) ?? fail('one master only');
    await expect(other.command('SET', key, 'hello')).rejects.toThrow(`MOVED ${slot} 127.0.0.1:${owner.port}`);

    // A client seeded with a node that does not serve the key.
    const seeded = new Cluster([{ host: other.host, port: other.port }]);
    try {
      await seeded.set(key, 'hello');
      expect(await seeded.get(key)).toBe('hello');
    } finally {
      seeded.disconnect();
    }
    expect(await owner.command('GET', key)).toBe('hello');
    expect(await client.get(key)).toBe('hello');
  });

  test("killing a master promotes its replica, which serves the slots again; the old master rejoins as the new one's replica", async () => {
    const master = await cluster().masterForSlot(slot);
    const replica = (await cluster().replicasOf(master))[0] ?? fail('no replica');
    // Replication is asynchronous: let the replica catch up, so the test's write survives the kill.
    await waitFor(
      async () => {
        const offset = parseInfo(await master.command('INFO', 'replication')).master_repl_offset;
        const copied = parseInfo(await replica.command('INFO', 'replication')).slave_repl_offset;
        return offset === copied ? true : undefined;
      },
      { timeoutMs: 5_000 },
    );
    await master.kill();
    const killedAt = Date.now();
    const promoted = await cluster().waitForFailover(master);
    const failoverMs = Date.now() - killedAt;
    process.stderr.write(`[infra test] cluster failover after SIGKILL of a master: ${failoverMs} ms\n`);

    expect(promoted).toBe(replica);
    expect(failoverMs).toBeGreaterThanOrEqual(cluster().nodeTimeoutMilliseconds);
    expect(((await promoted.command('ROLE')) as unknown[])[0]).toBe('master');
    expect(await cluster().masterForSlot(slot)).toBe(promoted);
    // The write reached the replica before the kill, and the slot takes writes again.
    expect(await client.get(key)).toBe('hello');
    await client.set(key, 'after failover');
    expect(await promoted.command('GET', key)).toBe('after failover');

    const restartedAt = Date.now();
    await cluster().restart(master);
    process.stderr.write(
      `[infra test] killed master restarted and cluster healthy in ${Date.now() - restartedAt} ms\n`,
    );
    expect(await cluster().replicasOf(promoted)).toEqual([master]);
    const replication = parseInfo(await master.command('INFO', 'replication'));
    expect(replication.role).toBe('slave');
    expect(Number(replication.master_port)).toBe(promoted.port);
    // It restarted empty and copied the data set of the node that replaced it.
    expect(await master.command('DBSIZE')).toBe(await promoted.command('DBSIZE'));
  });

  test('a paused master answers nothing and is failed over; resumed, it rejoins as a replica', async () => {
    const master = await cluster().masterForSlot(slot);
    const [replica] = await cluster().replicasOf(master);
    master.pause();
    let promoted: RedisNode;
    try {
      await expect(master.command('PING')).rejects.toThrow(/did not answer/);
      promoted = await cluster().waitForFailover(master);
    } finally {
      master.resume();
    }
    expect(promoted).toBe(replica);
    await cluster().waitUntilHealthy();
    expect(await master.command('PING')).toBe('PONG');
    expect(await cluster().replicasOf(promoted)).toEqual([master]);
    await client.set(key, 'after pause');
    expect(await client.get(key)).toBe('after pause');
  });

  test('the Sentinel group runs beside the cluster, untouched by its drills', async () => {
    const info = topology.info;
    expect(info.redis?.sentinels).toHaveLength(3);
    expect(info.redisCluster?.nodes).toHaveLength(6);
    const group = topology.redis ?? fail('no redis group');
    const master = await group.currentMaster();
    expect(master.name).toBe('redis-master');
    expect(parseInfo(await master.command('INFO', 'cluster')).cluster_enabled).toBe('0');
    const clusterNode = cluster().nodes[0] ?? fail('no cluster node');
    expect(parseInfo(await clusterNode.command('INFO', 'cluster')).cluster_enabled).toBe('1');
    const clusterPorts = new Set(info.redisCluster?.nodes.map((node) => node.port));
    expect(group.nodes.some((node) => clusterPorts.has(node.port))).toBe(false);
  });

  test('waitForFailover refuses a node that serves no slots, and times out with what it saw', async () => {
    const [shard] = await cluster().shards();
    const replica = shard?.replicas[0] ?? fail('no replica');
    await expect(cluster().waitForFailover(replica, 1_000)).rejects.toThrow(/serves no slots/);
    // A healthy master is never replaced.
    const master = shard?.master ?? fail('no master');
    await expect(cluster().waitForFailover(master, 300)).rejects.toThrow(
      new RegExp(
        `timed out after 300 ms waiting for a replica of ${master.name}[^]*last seen: .*served by ${master.name}`,
      ),
    );
  });
});
