import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createTestDatabase } from '@switchboard/infra';
import { installTestTracing } from '@switchboard/infra/tracing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import { createDbRouter, type DbRouter, type DbRouterOptions } from '../src/index.ts';

// The real SDK, registered globally as an application's NodeSDK would.
const tracing = installTestTracing();
const { exporter } = tracing;
let db: { primary: string; replicas: string[] };
const routers: DbRouter[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject('infra'), 'db_router_telemetry');
  const setup = await routerWith({ telemetry: false });
  await setup.write('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
});
beforeEach(() => exporter.reset());
afterEach(async () => {
  await Promise.all(routers.splice(1).map((router) => router.close()));
});
afterAll(async () => {
  await Promise.all(routers.map((router) => router.close()));
  tracing.uninstall();
});

// Health rounds far apart: what the router knows of each replica's position only changes when a
// test asks, so which replica serves which read is deterministic.
async function routerWith(options: Partial<DbRouterOptions>): Promise<DbRouter> {
  const router = await createDbRouter({
    primary: db.primary,
    replicas: db.replicas,
    policy: 'round-robin',
    healthCheck: { intervalMs: 60_000 },
    telemetry: true,
    ...options,
  });
  routers.push(router);
  return router;
}

const addressOf = (connectionString: string) => {
  const url = new URL(connectionString);
  return { host: url.hostname, port: Number(url.port), database: url.pathname.slice(1) };
};
const tracer = api.trace.getTracer('test');
const spans = () => exporter.getFinishedSpans();
const routerSpans = () => spans().filter((span) => span.instrumentationScope.name === '@switchboard/db-router');
const only = (list: ReadableSpan[]): ReadableSpan => {
  expect(list.map((span) => span.name)).toHaveLength(1);
  return list[0] as ReadableSpan;
};

describe('createDbRouter telemetry', () => {
  test('a read is a client span of the caller, with the database conventions and the replica that answered', async () => {
    const router = await routerWith({});
    const request = tracer.startSpan('GET /notes');
    const port = await api.context.with(api.trace.setSpan(api.context.active(), request), async () => {
      const { rows } = await router.read<{ port: number }>("SELECT current_setting('port')::int AS port");
      return rows[0]?.port;
    });
    request.end();
    const primary = addressOf(db.primary);
    const replica = addressOf(db.replicas[0] as string);
    const read = only(routerSpans());
    expect(read.name).toBe(`SELECT ${primary.database}`);
    expect(read.kind).toBe(api.SpanKind.CLIENT);
    expect(read.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(read.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(read.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'SELECT',
      'db.namespace': primary.database,
      'server.address': replica.host,
      'server.port': replica.port,
      'switchboard.db_router.node': 'replica',
      'switchboard.db_router.node.name': 'replica-1',
    });
    expect(port).toBe(replica.port);
    expect(read.status.code).toBe(api.SpanStatusCode.UNSET);
  });

  test("a write, a 'primary' read and captureToken are spans on the primary", async () => {
    const router = await routerWith({});
    await router.write('INSERT INTO notes (body) VALUES ($1)', ['hi']);
    await router.read('SELECT count(*) FROM notes', [], { consistency: 'primary' });
    const token = await router.captureToken();
    const [write, read, capture] = routerSpans();
    const primary = addressOf(db.primary);
    const onPrimary = {
      'server.address': primary.host,
      'server.port': primary.port,
      'switchboard.db_router.node': 'primary',
      'switchboard.db_router.node.name': 'primary',
    };
    expect(write?.name).toBe(`INSERT ${primary.database}`);
    expect(write?.attributes).toMatchObject({ ...onPrimary, 'db.operation.name': 'INSERT' });
    expect(read?.attributes).toMatchObject({ ...onPrimary, 'switchboard.db_router.reason': 'consistency' });
    expect(capture?.name).toBe('SELECT pg_current_wal_lsn');
    expect(capture?.attributes).toMatchObject({ ...onPrimary, 'switchboard.db_router.token': token });
  });

  test('a read waiting for its token has a token wait child span; a token no replica reaches ends on the primary', async () => {
    const router = await routerWith({ tokenWaitMs: 5_000, tokenPollMs: 5 });
    await router.write('INSERT INTO notes (body) VALUES ($1)', ['fresh']);
    const token = await router.captureToken();
    exporter.reset();
    // The health round before the write is all the router knows: it must ask a replica.
    const { rows } = await router.read<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery', [], { token });
    expect(rows[0]?.recovery).toBe(true);
    const wait = only(spans().filter((span) => span.name === 'token wait'));
    const read = only(spans().filter((span) => span.name.startsWith('SELECT')));
    expect(wait.parentSpanContext?.spanId).toBe(read.spanContext().spanId);
    expect(wait.attributes['switchboard.db_router.token_reached']).toBe(true);
    expect(wait.attributes['switchboard.db_router.token_probes']).toBeGreaterThanOrEqual(1);
    expect(read.attributes['switchboard.db_router.node']).toBe('replica');
    expect(read.attributes['switchboard.db_router.token_lsn']).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    exporter.reset();
    const impatient = await routerWith({ tokenWaitMs: 30, tokenPollMs: 10 });
    exporter.reset();
    await impatient.read('SELECT 1', [], { token: 'v1.ffffffffffff' });
    const unreached = only(spans().filter((span) => span.name === 'token wait'));
    expect(unreached.attributes['switchboard.db_router.token_reached']).toBe(false);
    expect(only(spans().filter((span) => span.name.startsWith('SELECT'))).attributes).toMatchObject({
      'switchboard.db_router.node': 'primary',
      'switchboard.db_router.reason': 'token-not-reached',
    });
  });

  test('a read retried after a lost connection: a retry event with the reason, the node that answered', async () => {
    const router = await routerWith({ readTimeoutMs: 300 });
    const slowPort = addressOf(db.replicas[0] as string).port;
    // Only replica-1 (the first in turn) is slow: the read times out there and is run on replica-2.
    const { rows } = await router.read<{ port: number }>(
      `SELECT current_setting('port')::int AS port, pg_sleep(CASE WHEN current_setting('port') = '${slowPort}' THEN 3 ELSE 0 END)`,
    );
    const answeredPort = addressOf(db.replicas[1] as string).port;
    expect(rows[0]?.port).toBe(answeredPort);
    const read = only(routerSpans());
    expect(read.attributes).toMatchObject({
      'switchboard.db_router.retried': true,
      'switchboard.db_router.node.name': 'replica-2',
      'server.port': answeredPort,
    });
    expect(read.events.map((event) => [event.name, event.attributes])).toEqual([
      [
        'retry',
        {
          'switchboard.db_router.retry.from': 'replica-1',
          'switchboard.db_router.retry.to': 'replica-2',
          'switchboard.db_router.retry.reason': 'connection-error',
          'error.type': 'Error',
        },
      ],
    ]);
    expect(read.status.code).toBe(api.SpanStatusCode.UNSET);
  });

  test('a failed statement ends its span in error, with the SQLSTATE; the caller gets the same error', async () => {
    const router = await routerWith({});
    const error = await router.read('SELECT * FROM no_such_table').catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('42P01');
    const read = only(routerSpans());
    expect(read.status).toMatchObject({ code: api.SpanStatusCode.ERROR, message: (error as Error).message });
    expect(read.attributes['db.response.status_code']).toBe('42P01');
    expect(read.events.map((event) => event.name)).toEqual(['exception']);
  });

  test("a reader's queries are spans too", async () => {
    const router = await routerWith({});
    const token = await router.captureToken();
    exporter.reset();
    await router.reader({ token }).query('SELECT 1');
    await router.reader().query('SELECT 2');
    expect(routerSpans().map((span) => span.attributes['db.operation.name'])).toEqual(['SELECT', 'SELECT']);
    expect(routerSpans()[0]?.attributes['switchboard.db_router.token_lsn']).toBeDefined();
  });
});

describe('createDbRouter telemetry off (the default)', () => {
  test('no span from reads, writes, readers or tokens', async () => {
    const router = await createDbRouter({ primary: db.primary, replicas: db.replicas });
    routers.push(router);
    const request = tracer.startSpan('GET /notes');
    await api.context.with(api.trace.setSpan(api.context.active(), request), async () => {
      await router.write('INSERT INTO notes (body) VALUES ($1)', ['quiet']);
      const token = await router.captureToken();
      await router.read('SELECT 1', [], { token });
      await router.reader().query('SELECT 1');
    });
    request.end();
    expect(spans().map((span) => span.name)).toEqual(['GET /notes']);
  });

  test('a telemetry value that is not true, false or the API is a TypeError naming the factory', () => {
    expect(() => createDbRouter({ primary: db.primary, telemetry: { trace: {}, context: {} } })).toThrow(
      /^createDbRouter: `telemetry`/,
    );
    expect(() => createDbRouter({ primary: db.primary, telemetry: 'yes' as unknown as boolean })).toThrow(TypeError);
  });
});
