import { setTimeout as sleep } from 'node:timers/promises';
import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createTestDatabase, sentinelClientOptions, untilClusterSubscribers } from '@switchboard/infra';
import { installTestTracing } from '@switchboard/infra/tracing';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import { createRbac, type RoleDefinitions } from '../src/index.ts';
import { createPostgresGrantStore, migrations } from '../src/postgres.ts';
import { createRedisRbacBus } from '../src/redis.ts';

const roles: RoleDefinitions = {
  member: { permissions: ['message:send'] },
  admin: { inherits: ['member'], permissions: ['chat:*'] },
};

// The real SDK, registered globally as an application's NodeSDK would.
const tracing = installTestTracing();
const { exporter } = tracing;
let pool: pg.Pool;
beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'rbac_telemetry');
  pool = new pg.Pool({ connectionString: db.primary, max: 4 });
  for (const migration of migrations) await pool.query(migration.sql);
});
beforeEach(() => exporter.reset());
afterAll(async () => {
  await pool?.end();
  tracing.uninstall();
});

const spansNamed = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.name === name);

describe('createPostgresGrantStore telemetry', () => {
  test('each statement is a CLIENT span per the database conventions, a child of the rbac span around it', async () => {
    const rbac = await createRbac({
      roles,
      store: createPostgresGrantStore({ pool, telemetry: true }),
      telemetry: true,
    });
    await rbac.grant('pat', 'admin', 'chat:P');
    expect(await rbac.can('pat', 'chat:rename', { scope: 'chat:P' })).toBe(true);
    await rbac.revoke('pat', 'admin', 'chat:P');

    const [insert] = spansNamed('INSERT switchboard_rbac_grants');
    const [grant] = spansNamed('switchboard.rbac.grant');
    expect(insert?.parentSpanContext?.spanId).toBe(grant?.spanContext().spanId);
    expect(insert?.kind).toBe(api.SpanKind.CLIENT);
    expect(insert?.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.operation.name': 'INSERT',
      'db.collection.name': 'switchboard_rbac_grants',
      'db.query.text': expect.stringMatching(/INSERT INTO switchboard_rbac_grants .* VALUES \(\$1, \$2, \$3\)/),
    });
    const [select] = spansNamed('SELECT switchboard_rbac_grants');
    const [load] = spansNamed('switchboard.rbac.load_grants');
    expect(select?.parentSpanContext?.spanId).toBe(load?.spanContext().spanId);
    expect(select?.attributes['db.operation.name']).toBe('SELECT');
    expect(load?.attributes['switchboard.rbac.grants.count']).toBe(1);
    const [del] = spansNamed('DELETE switchboard_rbac_grants');
    expect(del?.parentSpanContext?.spanId).toBe(spansNamed('switchboard.rbac.revoke')[0]?.spanContext().spanId);
    // No statement value (user, role, scope) reaches a span.
    expect(JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes))).not.toContain('pat');
    rbac.close();
  });

  test('a failing statement ends its span in error with the SQLSTATE, and the error reaches the caller unchanged', async () => {
    await pool.query('CREATE SCHEMA IF NOT EXISTS empty_schema');
    const client = await pool.connect();
    try {
      await client.query('SET search_path TO empty_schema');
      const store = createPostgresGrantStore({ pool: client, telemetry: true });
      const error = await store.grantsOf('pat').catch((caught: unknown) => caught);
      expect((error as { code?: string }).code).toBe('42P01');
      const [select] = spansNamed('SELECT switchboard_rbac_grants');
      expect(select?.status.code).toBe(api.SpanStatusCode.ERROR);
      expect(select?.attributes['db.response.status_code']).toBe('42P01');
      expect(select?.events.map((event) => event.name)).toEqual(['exception']);
    } finally {
      await client.query('RESET search_path');
      client.release();
    }
  });

  test('off by default: no span; a bad telemetry value is a TypeError naming the factory', async () => {
    const store = createPostgresGrantStore({ pool });
    await store.grant('quiet', 'member', null);
    expect(await store.grantsOf('quiet')).toEqual([{ role: 'member', scope: null }]);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(() => createPostgresGrantStore({ pool, telemetry: { trace: {}, context: {} } })).toThrow(
      /^createPostgresGrantStore: `telemetry`/,
    );
  });
});

describe('createRedisRbacBus telemetry', () => {
  test('a publish is a send span inside the grant; each instance handles the message in a process span of its own trace', async () => {
    const info = inject('infra').redis;
    if (!info) throw new Error('no redis');
    const clients = [0, 1, 2, 3].map(() => new Redis(sentinelClientOptions(info)));
    const [pubA, subA, pubB, subB] = clients as [Redis, Redis, Redis, Redis];
    const channel = `rbac-telemetry-${Date.now()}`;
    try {
      const store = createPostgresGrantStore({ pool });
      const busOf = (publisher: Redis, subscriber: Redis) =>
        createRedisRbacBus({ publisher, subscriber, channel, telemetry: true });
      const a = await createRbac({ roles, store, cache: { bus: busOf(pubA, subA) }, telemetry: true });
      const b = await createRbac({ roles, store, cache: { bus: busOf(pubB, subB) } });
      await sleep(100); // subscriptions in place
      await a.grant('dana', 'admin', 'chat:D');
      const started = Date.now();
      while (spansNamed(`process ${channel}`).length < 2 && Date.now() - started < 2_000) await sleep(5);

      const [grant] = spansNamed('switchboard.rbac.grant');
      const [send] = spansNamed(`send ${channel}`);
      expect(send?.parentSpanContext?.spanId).toBe(grant?.spanContext().spanId);
      expect(send?.kind).toBe(api.SpanKind.PRODUCER);
      expect(send?.attributes).toEqual({
        'messaging.system': 'redis',
        'messaging.destination.name': channel,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
      });
      const processed = spansNamed(`process ${channel}`);
      expect(processed).toHaveLength(2); // A hears its own message too
      for (const span of processed) {
        expect(span.kind).toBe(api.SpanKind.CONSUMER);
        expect(span.parentSpanContext).toBeUndefined();
        expect(span.attributes['messaging.operation.type']).toBe('process');
      }
      expect(await b.can('dana', 'chat:rename', { scope: 'chat:D' })).toBe(true);
      a.close();
      b.close();
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  test('on sharded pub/sub (a Redis Cluster) the spans name its operations: spublish, smessage', async () => {
    const cluster = inject('infra').redisCluster;
    if (!cluster) throw new Error('no Redis Cluster');
    const publisher = new Cluster(cluster.nodes);
    const subscriber = new Cluster(cluster.nodes, { shardedSubscribers: true });
    const channel = `rbac-telemetry-sharded-${Date.now()}`;
    try {
      const bus = createRedisRbacBus({ publisher, subscriber, channel, sharded: true, telemetry: true });
      const rbac = await createRbac({ roles, store: createPostgresGrantStore({ pool }), cache: { bus } });
      await untilClusterSubscribers(cluster.nodes, channel, true, 1);
      await rbac.grant('erin', 'admin', 'chat:E');
      const started = Date.now();
      while (spansNamed(`process ${channel}`).length < 1 && Date.now() - started < 2_000) await sleep(5);
      expect(spansNamed(`send ${channel}`).map((span) => span.attributes['messaging.operation.name'])).toEqual([
        'spublish',
      ]);
      expect(spansNamed(`process ${channel}`).map((span) => span.attributes['messaging.operation.name'])).toEqual([
        'smessage',
      ]);
      rbac.close();
    } finally {
      publisher.disconnect();
      subscriber.disconnect();
    }
  });
});
