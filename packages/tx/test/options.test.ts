import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { createOutbox, createOutboxRelay, createTransactionContext, isTransaction } from '../src/index.ts';

// Never connects: options are checked before any connection is taken.
const pool = new pg.Pool({ host: '127.0.0.1', port: 1 });
afterAll(() => pool.end());

describe('createOutboxRelay options', () => {
  test.each([
    ['no pool', { pool: undefined }],
    ['no publish', { publish: undefined }],
    ['a fractional batchSize', { batchSize: 1.5 }],
    ['a zero pollIntervalMs', { pollIntervalMs: 0 }],
    ['a negative publishTimeoutMs', { publishTimeoutMs: -1 }],
    ['backoff maxMs below initialMs', { backoff: { initialMs: 100, maxMs: 10 } }],
    ['a zero maxAttempts', { maxAttempts: 0 }],
    ['an unsafe table', { table: 'outbox; DROP TABLE users' }],
    ['an unsafe channel', { channel: 'wake"; NOTIFY x; --' }],
  ])('refuses %s with a TypeError', (_, override) => {
    expect(() => createOutboxRelay({ pool, publish: () => {}, ...override } as never)).toThrow(TypeError);
  });

  test('takes table and channel from an outbox and starts stopped', async () => {
    const outbox = createOutbox({ table: 'app.events', channel: 'events_wake' });
    expect([outbox.table, outbox.channel]).toEqual(['app.events', 'events_wake']);
    const relay = createOutboxRelay({ pool, outbox, publish: () => {}, maxAttempts: Number.POSITIVE_INFINITY });
    expect(relay.running).toBe(false);
    expect(relay.listening).toBe(false);
    await relay.stop();
  });
});

describe('createTransactionContext', () => {
  test('has no current transaction outside one, and refuses a missing callback', async () => {
    const transactions = createTransactionContext();
    expect(transactions.current()).toBeUndefined();
    await expect(transactions.withTransaction(pool, undefined as never)).rejects.toBeInstanceOf(TypeError);
    expect(isTransaction(pool)).toBe(false);
    expect(isTransaction(null)).toBe(false);
  });
});
