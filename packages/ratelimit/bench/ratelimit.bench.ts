/**
 * Side by side, in one process: @switchboard/ratelimit against rate-limiter-flexible (the
 * library users would otherwise pick) and the raw ioredis EVALSHA floor, 50 checks in flight,
 * one hot key and 10k distinct keys. Prints a markdown table for the README.
 *
 * Run: npm run bench -w @switchboard/ratelimit   (starts its own Redis on loopback)
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { compare, type Measurement } from '@switchboard/bench';
import { benchTelemetry } from '@switchboard/bench/telemetry';
import { startTopology } from '@switchboard/infra';
// By package name: the built dist/ that users install (tsx's transform of the sources adds
// per-closure overhead that no user pays).
import { createMemoryStore, createRateLimiter, fixedWindow } from '@switchboard/ratelimit';
import { createRedisStore } from '@switchboard/ratelimit/redis';
import { Cluster, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

const CONCURRENCY = 50;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_MS = 500;
// Limits far above the load (both libraries take their "allowed" path on every check), except
// in the "over its limit" scenarios.
const LIMIT = 1_000_000_000;
const WINDOW_MS = 3_600_000;
const DISTINCT_KEYS = 10_000;
// BENCH_ONLY=redis or BENCH_ONLY=memory runs one half in this process. Without it, each half
// runs in a process of its own and the rows are printed as one table: V8 shares a call site's
// feedback between every limiter, so a process that has run Redis limiters runs memory ones
// through a polymorphic call (measured 15-20 % fewer checks/s), which no memory-only service pays.
const only = process.env.BENCH_ONLY;
if (only === undefined) {
  const half = (name: string) =>
    execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_ONLY: name },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trimEnd();
  const redisTable = half('redis').split('\n');
  const memoryRows = half('memory')
    .split('\n')
    .filter((line) => line.startsWith('| Memory'));
  process.stdout.write(`${[...redisTable, ...memoryRows].join('\n')}\n`);
  process.exit(0);
}

// BENCH_TELEMETRY=on (npm run bench:ab -- ratelimit --telemetry): a span per Redis check, a
// counted memory check.
const telemetry = await benchTelemetry();
// A Redis Cluster of 3 masters beside the single Redis (Redis half only): the cost of cluster
// routing, measured side by side (on 2 cores no speed-up is expected from more masters).
const topology = await startTopology({
  postgres: false,
  redis: { replicas: 0, sentinels: 0 },
  redisCluster: only === 'redis' ? { masters: 3, replicasPerMaster: 0 } : false,
});
const client = new Redis(topology.info.redis?.master ?? '');
const clusterClient = topology.info.redisCluster
  ? new Cluster(topology.info.redisCluster.nodes, { scaleReads: 'master' })
  : undefined;
// For reference: ioredis can also gather the commands of one turn into one socket write
// (enableAutoPipelining); each check is still its own command for Redis to run and answer.
const pipelined = new Redis(topology.info.redis?.master ?? '', { enableAutoPipelining: true });
const rows: string[] = [];

try {
  const redisStore = createRedisStore({ client, telemetry: telemetry.option });
  let prefix = 0;
  const ours = () =>
    createRateLimiter({
      store: redisStore,
      algorithm: fixedWindow({ limit: LIMIT, windowMs: WINDOW_MS }),
      prefix: `ours${++prefix}`,
    });
  const theirs = (storeClient = client) =>
    new RateLimiterRedis({
      storeClient,
      points: LIMIT,
      duration: WINDOW_MS / 1000,
      keyPrefix: `rlf${++prefix}`,
    });
  const floorSha = (await client.script('LOAD', 'return 1')) as string;
  const floor = () => client.evalsha(floorSha, 1, 'floor');
  const pipelinedFloor = () => pipelined.evalsha(floorSha, 1, 'floor');

  if (only !== 'memory') {
    for (const [label, key] of [
      ['one hot key', () => 'hot'],
      [`${DISTINCT_KEYS / 1000}k distinct keys`, (i: number) => `user-${i % DISTINCT_KEYS}`],
    ] as const) {
      const oursLimiter = ours();
      const theirsLimiter = theirs();
      const theirsPipelined = theirs(pipelined);
      const results = await compare(
        {
          '@switchboard/ratelimit': (i) => oursLimiter.consume(key(i)),
          'rate-limiter-flexible': (i) => theirsLimiter.consume(key(i)),
          'raw EVALSHA floor': () => floor(),
          'rate-limiter-flexible, autopipelined client': (i) => theirsPipelined.consume(key(i)),
          'raw EVALSHA floor, autopipelined client': () => pipelinedFloor(),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: WARMUP_MS },
      );
      addRows(
        `Redis, fixed window, ${label}`,
        results,
        'rate-limiter-flexible',
        'raw EVALSHA floor',
        'rate-limiter-flexible, autopipelined client',
        'raw EVALSHA floor, autopipelined client',
      );
    }

    if (clusterClient) {
      // The same checks on a 3-master cluster: each turn's batch splits by slot.
      const clusterStore = createRedisStore({ client: clusterClient, telemetry: telemetry.option });
      const oursOnCluster = createRateLimiter({
        store: clusterStore,
        algorithm: fixedWindow({ limit: LIMIT, windowMs: WINDOW_MS }),
        prefix: `ours${++prefix}`,
      });
      const oursOnOne = ours();
      const theirsOnCluster = new RateLimiterRedis({
        storeClient: clusterClient,
        points: LIMIT,
        duration: WINDOW_MS / 1000,
        keyPrefix: `rlf${++prefix}`,
      });
      const key = (i: number) => `user-${i % DISTINCT_KEYS}`;
      const results = await compare(
        {
          '@switchboard/ratelimit': (i) => oursOnCluster.consume(key(i)),
          '@switchboard/ratelimit on one Redis': (i) => oursOnOne.consume(key(i)),
          'rate-limiter-flexible': (i) => theirsOnCluster.consume(key(i)),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: WARMUP_MS },
      );
      addRows(
        `Redis Cluster (3 masters), fixed window, ${DISTINCT_KEYS / 1000}k distinct keys`,
        results,
        'rate-limiter-flexible',
        '@switchboard/ratelimit on one Redis',
      );
    }

    {
      // Under attack: one key far over its limit, nearly every check refused.
      const oursLimiter = createRateLimiter({
        store: redisStore,
        algorithm: fixedWindow({ limit: 100, windowMs: WINDOW_MS }),
        prefix: `ours${++prefix}`,
      });
      const theirsLimiter = new RateLimiterRedis({
        storeClient: client,
        points: 100,
        duration: WINDOW_MS / 1000,
        keyPrefix: `rlf${++prefix}`,
      });
      const results = await compare(
        {
          '@switchboard/ratelimit': () => oursLimiter.consume('attacker'),
          // rate-limiter-flexible rejects its promise on refusal.
          'rate-limiter-flexible': () => theirsLimiter.consume('attacker').catch(() => undefined),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: WARMUP_MS },
      );
      addRows('Redis, fixed window, one key over its limit (refusals)', results, 'rate-limiter-flexible');
    }
  }

  if (only !== 'redis') {
    for (const [label, key] of [
      ['one hot key', () => 'hot'],
      [`${DISTINCT_KEYS / 1000}k distinct keys`, (i: number) => `user-${i % DISTINCT_KEYS}`],
    ] as const) {
      const oursLimiter = createRateLimiter({
        store: createMemoryStore({ telemetry: telemetry.option }),
        algorithm: fixedWindow({ limit: LIMIT, windowMs: WINDOW_MS }),
      });
      const theirsLimiter = new RateLimiterMemory({ points: LIMIT, duration: WINDOW_MS / 1000 });
      const results = await compare(
        {
          '@switchboard/ratelimit': (i) => oursLimiter.consume(key(i)),
          'rate-limiter-flexible': (i) => theirsLimiter.consume(key(i)),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: WARMUP_MS },
      );
      addRows(`Memory, fixed window, ${label}`, results, 'rate-limiter-flexible');
    }

    {
      const oursLimiter = createRateLimiter({
        store: createMemoryStore({ telemetry: telemetry.option }),
        algorithm: fixedWindow({ limit: 100, windowMs: WINDOW_MS }),
      });
      const theirsLimiter = new RateLimiterMemory({ points: 100, duration: WINDOW_MS / 1000 });
      const results = await compare(
        {
          '@switchboard/ratelimit': () => oursLimiter.consume('attacker'),
          'rate-limiter-flexible': () => theirsLimiter.consume('attacker').catch(() => undefined),
        },
        { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: WARMUP_MS },
      );
      addRows('Memory, fixed window, one key over its limit (refusals)', results, 'rate-limiter-flexible');
    }
  }

  const header = [
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${CONCURRENCY} checks in flight, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds after ${WARMUP_MS} ms of warm-up each${telemetry.note}`,
    '',
    '| scenario | implementation | checks/s | p50 ms | p99 ms | ours ÷ this |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  process.stdout.write(`${[...header, ...rows].join('\n')}\n`);
} finally {
  client.disconnect();
  clusterClient?.disconnect();
  pipelined.disconnect();
  await topology.stop();
}

function addRows(scenario: string, results: Record<string, Measurement>, ...others: string[]): void {
  const ours = results['@switchboard/ratelimit'];
  if (!ours) return;
  const row = (name: string, m: Measurement, ratio: string) =>
    `| ${scenario} | ${name} | ${Math.round(m.opsPerSec).toLocaleString('en-US')} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${ratio} |`;
  rows.push(row('**@switchboard/ratelimit**', ours, ''));
  for (const name of others) {
    const m = results[name];
    if (m) rows.push(row(name, m, `${(ours.opsPerSec / m.opsPerSec).toFixed(2)}×`));
  }
}
