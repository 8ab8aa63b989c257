import type { Cache } from '@switchboard/cache';
import type { DbRouter } from '@switchboard/db-router';
import type { Outbox } from '@switchboard/tx';
import type { Plugin } from 'graphql-yoga';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface OpsOptions {
  pool: pg.Pool;
  outbox: Outbox;
  cache: Cache;
  router?: DbRouter | undefined;
  /** Something that answers PING: the server's Redis, in cluster mode. */
  redis?: { ping(): Promise<unknown> } | undefined;
  /** How many subscriptions are open right now. */
  subscriptions?: () => number;
}

export interface ReadyReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string; detail?: unknown }>;
}

const CHECK_TIMEOUT_MS = 2_000;

/**
 * What operators look at: `/ready` (can this instance serve: primary and Redis reachable) and
 * `/metrics` in Prometheus format (requests and latency, rate-limit refusals, cache hit ratio,
 * outbox backlog and age, replica lag). The yoga plugin feeds the request metrics.
 */
export function createOps(options: OpsOptions) {
  const registry = new Registry();
  const requests = new Counter({
    name: 'chat_http_requests_total',
    help: 'HTTP requests answered, by method and status.',
    labelNames: ['method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'chat_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (subscriptions: until the stream is set up).',
    labelNames: ['method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'chat_rate_limit_refusals_total',
    help: 'GraphQL operations refused with RATE_LIMITED.',
    registers: [registry],
  });
  new Gauge({
    name: 'chat_subscriptions_active',
    help: 'Subscriptions open on this instance.',
    registers: [registry],
    collect() {
      this.set(options.subscriptions?.() ?? 0);
    },
  });
  new Gauge({
    name: 'chat_cache_hit_ratio',
    help: 'Cache hits (L1 + L2) over all look-ups since start.',
    registers: [registry],
    collect() {
      const stats = options.cache.stats();
      const hits = stats.l1Hits + stats.l2Hits;
      this.set(hits + stats.misses === 0 ? 0 : hits / (hits + stats.misses));
    },
  });
  const outboxGauge = (name: string, help: string, pick: (stats: Awaited<ReturnType<Outbox['stats']>>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(pick(await options.outbox.stats(options.pool)));
      },
    });
  outboxGauge('chat_outbox_pending', 'Outbox events not delivered yet.', (stats) => stats.pending);
  outboxGauge(
    'chat_outbox_oldest_pending_seconds',
    'Age of the oldest undelivered event.',
    (stats) => stats.oldestPendingAgeMs / 1000,
  );
  outboxGauge('chat_outbox_dead', 'Outbox events that exhausted their attempts.', (stats) => stats.dead);
  if (options.router) {
    const router = options.router;
    new Gauge({
      name: 'chat_replica_lag_seconds',
      help: 'Replica staleness at the last health check.',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        for (const replica of router.stats().replicas) {
          if (replica.lagMs !== null) this.set({ replica: replica.name }, replica.lagMs / 1000);
        }
      },
    });
    new Gauge({
      name: 'chat_replica_in_rotation',
      help: '1 while a replica serves reads.',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        for (const replica of router.stats().replicas) this.set({ replica: replica.name }, replica.healthy ? 1 : 0);
      },
    });
  }

  const started = new WeakMap<Request, number>();
  const plugin: Plugin = {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onResponse({ request, response }) {
      requests.inc({ method: request.method, status: String(response.status) });
      const at = started.get(request);
      if (at !== undefined) latency.observe({ method: request.method }, (performance.now() - at) / 1000);
    },
    onExecute: () => ({
      onExecuteDone({ result }) {
        const errors = 'errors' in result ? result.errors : undefined;
        if (errors?.some((error) => error.extensions?.code === 'RATE_LIMITED')) refusals.inc();
      },
    }),
  };

  const check = async (run: () => Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const detail = await Promise.race([
        run(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
        }),
      ]);
      return { ok: true, ...(detail === undefined ? {} : { detail }) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    plugin,
    async metrics(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    async ready(): Promise<ReadyReport> {
      const checks: ReadyReport['checks'] = {
        postgres: await check(async () => {
          await options.pool.query('SELECT 1');
        }),
      };
      if (options.redis) {
        const redis = options.redis;
        checks.redis = await check(async () => {
          await redis.ping();
        });
      }
      if (options.router) {
        // Informational: reads fall back to the primary, so lost replicas do not make us unready.
        checks.replicas = {
          ok: true,
          detail: options.router
            .stats()
            .replicas.map(({ name, state, healthy, lagMs }) => ({ name, state, healthy, lagMs })),
        };
      }
      return { ready: Object.values(checks).every((entry) => entry.ok), checks };
    },
  };
}

export type Ops = ReturnType<typeof createOps>;
