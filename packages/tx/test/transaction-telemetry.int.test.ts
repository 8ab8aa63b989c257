import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createTestDatabase } from '@switchboard/infra';
import { installTestTracing } from '@switchboard/infra/tracing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import {
  createOutbox,
  createOutboxRelay,
  createTransactionContext,
  RetriesExhaustedError,
  runSaga,
  SagaError,
  setDefaultTelemetry,
  withTransaction,
} from '../src/index.ts';
import { createOutboxMigrations } from '../src/postgres.ts';

// The real SDK, registered globally as an application's NodeSDK would.
const tracing = installTestTracing();
const { exporter } = tracing;
let pool: pg.Pool;

const raise = (sqlState: string) => `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '${sqlState}'; END $$`;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'tx_telemetry');
  pool = new pg.Pool({ connectionString: db.primary, max: 8 });
  await pool.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
  for (const migration of createOutboxMigrations({ table: 'outbox_default' })) await pool.query(migration.sql);
});
beforeEach(() => {
  exporter.reset();
  setDefaultTelemetry(true);
});
afterEach(() => setDefaultTelemetry(false));
afterAll(async () => {
  await pool?.end();
  tracing.uninstall();
});

const tracer = api.trace.getTracer('test');
const spans = () => exporter.getFinishedSpans();
const named = (name: string): ReadableSpan[] => spans().filter((span) => span.name === name);
const one = (name: string): ReadableSpan => {
  const found = named(name);
  expect(found, `spans named ${name} among ${spans().map((span) => span.name)}`).toHaveLength(1);
  return found[0] as ReadableSpan;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

describe('withTransaction telemetry (setDefaultTelemetry)', () => {
  test("a transaction span of the caller's trace, an attempt span under it, the callback's work under that", async () => {
    const request = tracer.startSpan('POST /graphql');
    await api.context.with(api.trace.setSpan(api.context.active(), request), () =>
      withTransaction(
        pool,
        async (tx) => {
          await tx.query('INSERT INTO counters VALUES (1, 0)');
          tracer.startSpan('inside').end();
        },
        { isolation: 'serializable' },
      ),
    );
    request.end();
    const transaction = one('transaction');
    const attempt = one('transaction attempt');
    expect(parentOf(transaction)).toBe(request.spanContext().spanId);
    expect(parentOf(attempt)).toBe(idOf(transaction));
    expect(parentOf(one('inside'))).toBe(idOf(attempt));
    expect(transaction.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'switchboard.tx.isolation_level': 'serializable',
      'switchboard.tx.read_only': false,
      'switchboard.tx.attempts': 1,
    });
    expect(attempt.attributes['switchboard.tx.attempt']).toBe(1);
    expect(transaction.status.code).toBe(api.SpanStatusCode.UNSET);
  });

  test('a serialization failure: the failed attempt ends in error with its SQLSTATE, a retry event, then the second attempt', async () => {
    let calls = 0;
    const value = await withTransaction(
      pool,
      async (tx) => {
        calls++;
        if (calls === 1) await tx.query(raise('40001'));
        return 'done';
      },
      { backoff: { initialMs: 0, maxMs: 0 } },
    );
    expect(value).toBe('done');
    const transaction = one('transaction');
    const attempts = named('transaction attempt');
    expect(attempts.map((span) => span.attributes['switchboard.tx.attempt'])).toEqual([1, 2]);
    expect(attempts.map((span) => parentOf(span))).toEqual([idOf(transaction), idOf(transaction)]);
    expect(attempts[0]?.status.code).toBe(api.SpanStatusCode.ERROR);
    expect(attempts[0]?.attributes['db.response.status_code']).toBe('40001');
    expect(attempts[1]?.status.code).toBe(api.SpanStatusCode.UNSET);
    expect(transaction.events.map((event) => [event.name, event.attributes])).toEqual([
      [
        'retry',
        { 'switchboard.tx.attempt': 1, 'db.response.status_code': '40001', 'switchboard.tx.retry_delay_ms': 0 },
      ],
    ]);
    expect(transaction.attributes['switchboard.tx.attempts']).toBe(2);
    expect(transaction.status.code).toBe(api.SpanStatusCode.UNSET);
  });

  test('retries used up and a plain error: the transaction span ends in error, the caller gets the same error', async () => {
    const exhausted = await withTransaction(pool, (tx) => tx.query(raise('40P01')), {
      retries: 1,
      backoff: { initialMs: 0, maxMs: 0 },
    }).catch((error: unknown) => error);
    expect(exhausted).toBeInstanceOf(RetriesExhaustedError);
    const failed = one('transaction');
    expect(failed.status).toMatchObject({ code: api.SpanStatusCode.ERROR, message: (exhausted as Error).message });
    expect(failed.attributes['db.response.status_code']).toBe('40P01');
    expect(named('transaction attempt')).toHaveLength(2);

    exporter.reset();
    const bug = new Error('bug in the callback');
    await expect(
      withTransaction(pool, async () => {
        throw bug;
      }),
    ).rejects.toBe(bug);
    expect(one('transaction').status.code).toBe(api.SpanStatusCode.ERROR);
    expect(one('transaction attempt').events.map((event) => event.name)).toEqual(['exception']);
  });

  test('nested transactions are savepoint spans, under the attempt and under each other; a rolled-back one ends in error', async () => {
    await withTransaction(pool, async (tx) => {
      await withTransaction(tx, async (inner) => {
        await inner.savepoint(async () => {});
      });
      await tx.savepoint((savepoint) => savepoint.query('SELECT 1 / 0')).catch(() => {});
    });
    const attempt = one('transaction attempt');
    const savepoints = named('savepoint');
    expect(savepoints).toHaveLength(3);
    const byDepth = (depth: number) => savepoints.filter((span) => span.attributes['switchboard.tx.depth'] === depth);
    const [outer, failed] = byDepth(1);
    const [nested] = byDepth(2);
    expect(parentOf(outer as ReadableSpan)).toBe(idOf(attempt));
    expect(parentOf(nested as ReadableSpan)).toBe(idOf(outer as ReadableSpan));
    expect(failed?.status.code).toBe(api.SpanStatusCode.ERROR);
    expect(failed?.attributes['db.response.status_code']).toBe('22012');
    expect(outer?.status.code).toBe(api.SpanStatusCode.UNSET);
  });

  test('a transaction context is traced the same way, its joined calls as savepoints', async () => {
    const context = createTransactionContext();
    await context.withTransaction(pool, () => context.withTransaction(pool, async () => 'joined'));
    expect(parentOf(one('savepoint'))).toBe(idOf(one('transaction attempt')));
    expect(parentOf(one('transaction attempt'))).toBe(idOf(one('transaction')));
  });

  test('runSaga: a saga span, a span per step, compensations in error order', async () => {
    const error = await runSaga([
      { name: 'reserve', execute: () => 'r1', compensate: () => undefined },
      { name: 'charge', execute: () => 'c1', compensate: () => undefined },
      {
        name: 'ship',
        execute: () => {
          throw new Error('no courier');
        },
      },
    ]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SagaError);
    const saga = one('saga');
    expect(saga.attributes['switchboard.tx.saga.steps']).toBe(3);
    expect(saga.status.code).toBe(api.SpanStatusCode.ERROR);
    const children = spans()
      .filter((span) => parentOf(span) === idOf(saga))
      .map((span) => [span.name, span.status.code]);
    expect(children).toEqual([
      ['saga step reserve', api.SpanStatusCode.UNSET],
      ['saga step charge', api.SpanStatusCode.UNSET],
      ['saga step ship', api.SpanStatusCode.ERROR],
      ['saga compensate charge', api.SpanStatusCode.UNSET],
      ['saga compensate reserve', api.SpanStatusCode.UNSET],
    ]);
    expect(one('saga step ship').attributes['switchboard.tx.saga.step']).toBe('ship');
  });

  test('the outbox and relay factories fall back to the default; their own `telemetry: false` wins', async () => {
    const traced = createOutbox({ table: 'outbox_default' });
    await traced.enqueue(pool, { topic: 'fallback', payload: 1 });
    expect(one('create fallback').instrumentationScope.name).toBe('@switchboard/tx');
    const quiet = createOutbox({ table: 'outbox_default', telemetry: false });
    await quiet.enqueue(pool, { topic: 'opted-out', payload: 1 });
    expect(named('create opted-out')).toEqual([]);
    const published: string[] = [];
    const relay = createOutboxRelay({
      pool,
      outbox: traced,
      pollIntervalMs: 20,
      publish: (event) => {
        published.push(event.topic);
      },
    });
    relay.start();
    try {
      const deadline = Date.now() + 10_000;
      while (published.length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await relay.stop();
    }
    expect(published).toEqual(['fallback', 'opted-out']);
    expect(one('send fallback').links).toHaveLength(1);
  });
});

describe('setDefaultTelemetry off (the default)', () => {
  test('no span from transactions, savepoints, retries or sagas', async () => {
    setDefaultTelemetry(false);
    let calls = 0;
    await withTransaction(
      pool,
      async (tx) => {
        if (++calls === 1) await tx.query(raise('40001'));
        await tx.savepoint(async () => {});
      },
      { backoff: { initialMs: 0, maxMs: 0 } },
    );
    await runSaga([{ name: 'one', execute: () => 1 }]);
    expect(calls).toBe(2);
    expect(spans()).toEqual([]);
  });

  test('a value that is not true, false or the API is a TypeError naming setDefaultTelemetry, and changes nothing', async () => {
    expect(() => setDefaultTelemetry({ trace: {}, context: {} })).toThrow(/^setDefaultTelemetry: `telemetry`/);
    expect(() => setDefaultTelemetry('on' as unknown as boolean)).toThrow(TypeError);
    await withTransaction(pool, async () => {});
    expect(spans().map((span) => span.name)).toEqual(['transaction attempt', 'transaction']);
  });
});
