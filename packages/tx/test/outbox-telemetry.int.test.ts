import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createTestDatabase } from '@switchboard/infra';
import { installTestTracing, type TestTracing } from '@switchboard/infra/tracing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import {
  createOutbox,
  createOutboxRelay,
  ENQUEUE_TRACEPARENT,
  type OutboxEvent,
  type OutboxOptions,
  type OutboxRelay,
  uuidv7,
  withTransaction,
} from '../src/index.ts';
import { createOutboxMigrations } from '../src/postgres.ts';

let tracing: TestTracing;
let pool: pg.Pool;
const relays: OutboxRelay[] = [];
let tableCounter = 0;

beforeAll(async () => {
  tracing = installTestTracing();
  const db = await createTestDatabase(inject('infra'), 'tx_outbox_telemetry');
  pool = new pg.Pool({ connectionString: db.primary, max: 8 });
  pool.on('error', () => {});
});
beforeEach(() => tracing.reset());
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});
afterAll(async () => {
  await pool?.end();
  tracing.uninstall();
});

async function freshOutbox(options: Pick<OutboxOptions, 'telemetry'>) {
  const table = `outbox_t${++tableCounter}`;
  for (const migration of createOutboxMigrations({ table })) await pool.query(migration.sql);
  return createOutbox({ table, channel: `${table}_wake`, ...options });
}

function relayFor(
  outbox: { table: string; channel: string },
  publish: (event: OutboxEvent) => unknown,
  telemetry = true,
) {
  const relay = createOutboxRelay({ pool, outbox, publish, pollIntervalMs: 50, backoff: { initialMs: 20 }, telemetry });
  relays.push(relay);
  return relay;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const tracer = api.trace.getTracer('test');
const spanNamed = (name: string): ReadableSpan => tracing.span(name);
const traceparentOf = (span: ReadableSpan) => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

describe('outbox telemetry: one request, its publish and its delivery', () => {
  test('enqueue is a span of the request; the publish starts its own trace linked to it; the delivery is its child, linked too', async () => {
    const outbox = await freshOutbox({ telemetry: true });
    const published: OutboxEvent[] = [];
    // The request: a server span around the transaction that writes the message and its event.
    const request = tracer.startSpan('POST /graphql', { kind: api.SpanKind.SERVER });
    await api.context.with(api.trace.setSpan(api.context.active(), request), () =>
      withTransaction(pool, (tx) => outbox.enqueue(tx, { topic: 'message.created', payload: { text: 'hi' } })),
    );
    request.end();
    const create = spanNamed('create message.created');
    expect(create.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(create.kind).toBe(api.SpanKind.PRODUCER);
    expect(create.attributes).toMatchObject({
      'messaging.system': 'switchboard_outbox',
      'messaging.operation.type': 'create',
      'messaging.destination.name': 'message.created',
    });
    const { rows } = await pool.query(`SELECT headers FROM ${outbox.table}`);
    expect(rows[0].headers).toEqual({ traceparent: traceparentOf(create) });

    // The relay, outside any request (as on another instance).
    relayFor(outbox, (event) => {
      published.push(event);
    }).start();
    await until(() => published.length === 1);
    await until(() => tracing.spans().some((span) => span.name === 'send message.created'));
    const send = spanNamed('send message.created');
    expect(send.spanContext().traceId).not.toBe(request.spanContext().traceId);
    expect(send.parentSpanContext).toBeUndefined();
    expect(send.links.map((link) => link.context.spanId)).toEqual([create.spanContext().spanId]);
    expect(send.attributes['messaging.message.id']).toBe(published[0]?.id);
    expect(published[0]?.headers).toEqual({
      traceparent: traceparentOf(send),
      [ENQUEUE_TRACEPARENT]: traceparentOf(create),
    });

    // A subscriber (on any instance) handling what was published.
    const seenInside = outbox.withDeliverySpan(published[0] as OutboxEvent, () => api.trace.getActiveSpan());
    const process = spanNamed('process message.created');
    expect(seenInside?.spanContext().spanId).toBe(process.spanContext().spanId);
    expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(process.links.map((link) => link.context.spanId)).toEqual([create.spanContext().spanId]);
    expect(process.kind).toBe(api.SpanKind.CONSUMER);
  });

  test('enqueueSql users get the create span and its headers from withTraceHeaders', async () => {
    const outbox = await freshOutbox({ telemetry: true });
    const sql = `WITH source AS (SELECT 1), e AS (${outbox.enqueueSql({
      from: 'source',
      id: '$1::uuid',
      topic: "'chat.renamed'",
      key: "'chat:1'",
      payload: `'{}'`,
      headers: '$2::jsonb',
    })}) SELECT 1`;
    await outbox.withTraceHeaders('chat.renamed', (headers) => pool.query(sql, [uuidv7(), JSON.stringify(headers)]));
    const { rows } = await pool.query(`SELECT headers FROM ${outbox.table}`);
    expect(rows[0].headers).toEqual({ traceparent: traceparentOf(spanNamed('create chat.renamed')) });
  });

  test('a traceparent the caller stored wins; a batch is one span; a failed publish ends its span in error', async () => {
    const outbox = await freshOutbox({ telemetry: true });
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await outbox.enqueue(pool, { topic: 'a', payload: 1, headers: { traceparent: own } });
    await outbox.enqueueMany(pool, [
      { topic: 'b', payload: 1, key: 'k' },
      { topic: 'b', payload: 2, key: 'k' },
    ]);
    const { rows } = await pool.query(`SELECT topic, headers FROM ${outbox.table} ORDER BY position`);
    expect(rows[0].headers).toEqual({ traceparent: own });
    const batch = spanNamed('create b');
    expect(batch.attributes['messaging.batch.message_count']).toBe(2);
    expect(rows.slice(1).map((row) => row.headers.traceparent)).toEqual([traceparentOf(batch), traceparentOf(batch)]);

    let calls = 0;
    relayFor(outbox, () => {
      calls++;
      throw new Error('broker down');
    }).start();
    await until(() => tracing.spans().some((span) => span.name === 'send a'));
    const failed = spanNamed('send a');
    expect(calls).toBeGreaterThan(0);
    expect(failed.status.code).toBe(api.SpanStatusCode.ERROR);
    expect(failed.status.message).toBe('broker down');
    expect(failed.links.map((link) => link.context.spanId)).toEqual(['b7ad6b7169203331']);

    // Misuse is a TypeError, not a span of nothing.
    expect(() => outbox.withTraceHeaders('', () => 1)).toThrow(/withTraceHeaders needs a non-empty topic/);
    expect(() => outbox.withDeliverySpan({} as never, () => 1)).toThrow(/withDeliverySpan needs the published event/);
    expect(() => outbox.withDeliverySpan(failed as never, 'no' as never)).toThrow(/withDeliverySpan needs a function/);
  });
});

describe('outbox telemetry off (the default)', () => {
  test('no span, no header, and the event is published as stored', async () => {
    const outbox = await freshOutbox({});
    const request = tracer.startSpan('POST /graphql');
    await api.context.with(api.trace.setSpan(api.context.active(), request), () =>
      outbox.enqueue(pool, { topic: 'quiet', payload: 1 }),
    );
    request.end();
    const published: OutboxEvent[] = [];
    relayFor(
      outbox,
      (event) => {
        published.push(event);
      },
      false,
    ).start();
    await until(() => published.length === 1);
    expect(published[0]?.headers).toEqual({});
    expect(outbox.withTraceHeaders('quiet', (headers) => headers)).toEqual({});
    expect(outbox.withDeliverySpan(published[0] as OutboxEvent, () => 'ran')).toBe('ran');
    expect(tracing.spans().map((span) => span.name)).toEqual(['POST /graphql']);
  });

  test('a telemetry value that is not true, false or the API is a TypeError naming the factory', () => {
    expect(() => createOutbox({ telemetry: { trace: {}, context: {} } })).toThrow(/^createOutbox: `telemetry`/);
    expect(() => createOutboxRelay({ pool, publish: () => undefined, telemetry: 'yes' as unknown as boolean })).toThrow(
      /^createOutboxRelay: `telemetry`/,
    );
  });
});
