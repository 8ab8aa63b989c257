/**
 * Side by side, in one process: @switchboard/cache against bentocache and cache-manager (keyv),
 * same tiers, 50 calls in flight: an L1 hot hit, an L1 workload over 100k keys, and L2 only
 * (Redis). Prints a markdown table for the README.
 *
 * Run: npm run bench -w @switchboard/cache   (starts its own Redis on loopback)
 */
import os from 'node:os';
import KeyvRedis from '@keyv/redis';
import { createClient, type RedisClientType } from '@redis/client';
import { compare, type Measurement } from '@switchboard/bench';
import { benchTelemetry } from '@switchboard/bench/telemetry';
// By package name: the built dist/ that users install (tsx's transform of the sources adds
// per-closure overhead that no user pays).
import { createCache, createMemoryTier } from '@switchboard/cache';
import { createRedisTier } from '@switchboard/cache/redis';
import { startTopology } from '@switchboard/infra';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache as createCacheManager } from 'cache-manager';
import { Cluster, Redis } from 'ioredis';
import { Keyv } from 'keyv';

const CONCURRENCY = 50;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// BENCH_ONLY=cluster runs the Redis Cluster rows alone.
const only = process.env.BENCH_ONLY;
const KEYS = 100_000;
const TTL_MS = 3_600_000;
const value = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'member'], updatedAt: '2026-11-24T10:00:00.000Z' };
const factory = async () => value;

// A Redis Cluster of 3 masters beside the single Redis: what cluster routing costs, side by side
// (on 2 cores more masters bring no speed-up).
const topology = await startTopology({
  postgres: false,
  redis: { replicas: 0, sentinels: 0 },
  redisCluster: { masters: 3, replicasPerMaster: 0 },
});
const clusterNodes = topology.info.redisCluster?.nodes ?? [];
const clusterClients: Cluster[] = [];
const clusterClient = () => {
  const created = new Cluster(clusterNodes, { scaleReads: 'master', enableAutoPipelining: true });
  clusterClients.push(created);
  return created;
};
const redisUrl = topology.info.redis?.master ?? '';
const clients: Redis[] = [];
// ioredis' auto-pipelining (recommended for this cache, and given to bentocache too): commands
// issued in the same tick share a socket write, as node-redis (under cache-manager) does by default.
const client = () => {
  const created = new Redis(redisUrl, { enableAutoPipelining: true });
  clients.push(created);
  return created;
};
const nodeRedisClients: RedisClientType[] = [];
const nodeRedisClient = async () => {
  const created = createClient({ url: redisUrl }) as RedisClientType;
  await created.connect();
  nodeRedisClients.push(created);
  return created;
};
const rows: string[] = [];
const closers: (() => Promise<unknown>)[] = [];
// BENCH_TELEMETRY=on (npm run bench:ab -- cache --telemetry): tier hits counted, a span per L2 call.
const telemetry = await benchTelemetry();

try {
  const l1Contenders = () => {
    const ours = createCache({
      l1: createMemoryTier({ maxEntries: 2 * KEYS }),
      ttlMs: TTL_MS,
      telemetry: telemetry.option,
    });
    const bento = new BentoCache({
      default: 'c',
      stores: { c: bentostore().useL1Layer(memoryDriver({ maxItems: 2 * KEYS })) },
    });
    const manager = createCacheManager({ stores: [new Keyv()] });
    closers.push(
      () => bento.disconnectAll(),
      () => manager.disconnect(),
    );
    return { ours, bento, manager };
  };

  if (only !== 'cluster') {
    const { ours, bento, manager } = l1Contenders();
    await ours.getOrSet('hot', factory);
    await bento.getOrSet({ key: 'hot', factory, ttl: TTL_MS });
    await manager.wrap('hot', factory, TTL_MS);
    addRows(
      'L1 (memory), one hot key',
      await compare(
        {
          '@switchboard/cache': () => ours.getOrSet('hot', factory),
          bentocache: () => bento.getOrSet({ key: 'hot', factory, ttl: TTL_MS }),
          'cache-manager': () => manager.wrap('hot', factory, TTL_MS),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
      ),
    );
  }

  if (only !== 'cluster') {
    const { ours, bento, manager } = l1Contenders();
    for (let i = 0; i < KEYS; i++) {
      const key = `user:${i}`;
      await ours.getOrSet(key, factory);
      await bento.getOrSet({ key, factory, ttl: TTL_MS });
      await manager.wrap(key, factory, TTL_MS);
    }
    const randomKey = () => `user:${Math.floor(Math.random() * KEYS)}`;
    addRows(
      `L1 (memory), ${KEYS / 1000}k warm keys, random reads`,
      await compare(
        {
          '@switchboard/cache': () => ours.getOrSet(randomKey(), factory),
          bentocache: () => bento.getOrSet({ key: randomKey(), factory, ttl: TTL_MS }),
          'cache-manager': () => manager.wrap(randomKey(), factory, TTL_MS),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
      ),
    );
  }

  if (only !== 'cluster') {
    const ours = createCache({
      l1: false,
      l2: createRedisTier({ client: client(), prefix: 'bench-ours' }),
      ttlMs: TTL_MS,
      telemetry: telemetry.option,
    });
    const bento = new BentoCache({
      default: 'c',
      prefix: 'bench-bento',
      stores: { c: bentostore().useL2Layer(redisDriver({ connection: client() })) },
    });
    const manager = createCacheManager({
      stores: [new Keyv({ store: new KeyvRedis(redisUrl), namespace: 'bench-cm' })],
    });
    closers.push(
      () => bento.disconnectAll(),
      () => manager.disconnect(),
    );
    await ours.getOrSet('hot', factory);
    await bento.getOrSet({ key: 'hot', factory, ttl: TTL_MS });
    await manager.wrap('hot', factory, TTL_MS);
    addRows(
      'L2 only (Redis), one hot key (concurrent calls coalesce)',
      await compare(
        {
          '@switchboard/cache': () => ours.getOrSet('hot', factory),
          bentocache: () => bento.getOrSet({ key: 'hot', factory, ttl: TTL_MS }),
          'cache-manager': () => manager.wrap('hot', factory, TTL_MS),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
      ),
    );
  }

  for (const driver of only === 'cluster' ? [] : (['ioredis', 'node-redis'] as const)) {
    // Distinct keys: every call is its own Redis read, nothing to coalesce. The Redis client
    // dominates here (node-redis answers ~3× more commands/s than ioredis on this machine), so
    // ours runs once on each: on ioredis like bentocache, on node-redis like cache-manager.
    const L2_KEYS = 10_000;
    const ours = createCache({
      l1: false,
      l2: createRedisTier({
        client: driver === 'ioredis' ? client() : await nodeRedisClient(),
        prefix: `bench-ours-${driver}`,
      }),
      ttlMs: TTL_MS,
      telemetry: telemetry.option,
    });
    const bento = new BentoCache({
      default: 'c',
      prefix: `bench-bento-${driver}`,
      stores: { c: bentostore().useL2Layer(redisDriver({ connection: client() })) },
    });
    const manager = createCacheManager({
      stores: [new Keyv({ store: new KeyvRedis(redisUrl), namespace: `bench-cm-${driver}` })],
    });
    closers.push(
      () => bento.disconnectAll(),
      () => manager.disconnect(),
    );
    for (let i = 0; i < L2_KEYS; i++) {
      const key = `user:${i}`;
      await Promise.all([
        ours.getOrSet(key, factory),
        bento.getOrSet({ key, factory, ttl: TTL_MS }),
        manager.wrap(key, factory, TTL_MS),
      ]);
    }
    let next = 0;
    const nextKey = () => `user:${next++ % L2_KEYS}`;
    addRows(
      `L2 only (Redis), ${L2_KEYS / 1000}k warm keys in turn, ours on ${driver}`,
      await compare(
        {
          '@switchboard/cache': () => ours.getOrSet(nextKey(), factory),
          bentocache: () => bento.getOrSet({ key: nextKey(), factory, ttl: TTL_MS }),
          'cache-manager': () => manager.wrap(nextKey(), factory, TTL_MS),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
      ),
    );
  }

  {
    // The same warm-key reads on the cluster: a turn's MGET splits by slot.
    const L2_KEYS = 10_000;
    const onCluster = createCache({
      l1: false,
      l2: createRedisTier({ client: clusterClient(), prefix: 'bench-ours-cluster' }),
      ttlMs: TTL_MS,
      telemetry: telemetry.option,
    });
    const onOne = createCache({
      l1: false,
      l2: createRedisTier({ client: client(), prefix: 'bench-ours-one' }),
      ttlMs: TTL_MS,
      telemetry: telemetry.option,
    });
    const bento = new BentoCache({
      default: 'c',
      prefix: 'bench-bento-cluster',
      stores: { c: bentostore().useL2Layer(redisDriver({ connection: clusterClient() })) },
    });
    closers.push(() => bento.disconnectAll());
    for (let i = 0; i < L2_KEYS; i++) {
      const key = `user:${i}`;
      await Promise.all([
        onCluster.getOrSet(key, factory),
        onOne.getOrSet(key, factory),
        bento.getOrSet({ key, factory, ttl: TTL_MS }),
      ]);
    }
    let next = 0;
    const nextKey = () => `user:${next++ % L2_KEYS}`;
    addRows(
      `L2 only (Redis Cluster, 3 masters), ${L2_KEYS / 1000}k warm keys in turn, ioredis`,
      await compare(
        {
          '@switchboard/cache': () => onCluster.getOrSet(nextKey(), factory),
          bentocache: () => bento.getOrSet({ key: nextKey(), factory, ttl: TTL_MS }),
          '@switchboard/cache on one Redis': () => onOne.getOrSet(nextKey(), factory),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
      ),
    );
  }

  const header = [
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${CONCURRENCY} calls in flight, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds${telemetry.note}`,
    '',
    '| scenario | implementation | getOrSet/s | p50 ms | p99 ms | ours ÷ this |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  process.stdout.write(`${[...header, ...rows].join('\n')}\n`);
} finally {
  for (const close of closers) await close().catch(() => undefined);
  for (const created of clients) created.disconnect();
  for (const created of clusterClients) created.disconnect();
  for (const created of nodeRedisClients) await created.quit();
  await topology.stop();
}

function addRows(scenario: string, results: Record<string, Measurement>): void {
  const ours = results['@switchboard/cache'];
  if (!ours) return;
  const row = (name: string, m: Measurement, ratio: string) =>
    `| ${scenario} | ${name} | ${Math.round(m.opsPerSec).toLocaleString('en-US')} | ${m.p50Ms.toFixed(3)} | ${m.p99Ms.toFixed(3)} | ${ratio} |`;
  rows.push(row('**@switchboard/cache**', ours, ''));
  for (const name of Object.keys(results).filter((name) => name !== '@switchboard/cache')) {
    const m = results[name];
    if (m) rows.push(row(name, m, `${(ours.opsPerSec / m.opsPerSec).toFixed(2)}×`));
  }
}
