import { describe, expect, test } from 'vitest';
import { isTxError, RetriesExhaustedError, TransactionTimeoutError, TxError, uuidv7 } from '../src/index.ts';
import { createOutboxMigrations, migrations } from '../src/postgres.ts';

describe('migrations', () => {
  test('ship the default outbox table as ordered, idempotent SQL without uuidv7()', () => {
    expect(migrations.map((migration) => migration.id)).toEqual(['0001_switchboard_tx_outbox']);
    const sql = migrations[0]?.sql ?? '';
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS switchboard_outbox');
    expect(sql).not.toMatch(/uuidv7\(|gen_random_uuid/);
    for (const statement of sql.split(';').filter((part) => part.trim())) {
      expect(statement).toMatch(/IF NOT EXISTS/);
    }
  });

  test('accept a schema-qualified table of plain identifiers and refuse anything else', () => {
    const [custom] = createOutboxMigrations({ table: 'events.outbox' });
    expect(custom?.id).toBe('0001_switchboard_tx_outbox_events_outbox');
    expect(custom?.sql).toContain('CREATE TABLE IF NOT EXISTS events.outbox');
    expect(custom?.sql).toContain('CREATE INDEX IF NOT EXISTS outbox_pending_idx');
    for (const table of ['', 'Outbox', 'a.b.c', 'outbox"; DROP TABLE x; --', '1table', 'a-b']) {
      expect(() => createOutboxMigrations({ table }), table).toThrow(TypeError);
    }
  });
});

describe('uuidv7', () => {
  test('is a version 7, variant 10 UUID whose first 48 bits are the time in ms', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const id = uuidv7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
    const many = new Set(Array.from({ length: 1000 }, () => uuidv7(at)));
    expect(many.size).toBe(1000);
    expect(uuidv7(at + 1) > uuidv7(at)).toBe(true);
  });
});

describe('errors', () => {
  test('carry a code, their class name and the cause; isTxError checks the code', () => {
    const cause = Object.assign(new Error('could not serialize'), { code: '40001' });
    const error = new RetriesExhaustedError(4, '40001', cause);
    expect(error).toBeInstanceOf(TxError);
    expect(error.name).toBe('RetriesExhaustedError');
    expect(error.cause).toBe(cause);
    expect(isTxError(error)).toBe(true);
    expect(isTxError(new TransactionTimeoutError(100))).toBe(true);
    expect(isTxError(cause)).toBe(false);
    expect(isTxError({ code: 'RETRIES_EXHAUSTED' })).toBe(false);
    expect(isTxError(null)).toBe(false);
  });
});
