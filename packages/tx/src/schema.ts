/** The outbox table when none is configured. */
export const DEFAULT_OUTBOX_TABLE = 'switchboard_outbox';
/** The LISTEN/NOTIFY channel when none is configured. */
export const DEFAULT_OUTBOX_CHANNEL = 'switchboard_outbox';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Accepts `table` or `schema.table` made of lower-case SQL identifiers (no quoting needed, so
 * nothing can be injected), or throws a `TypeError`.
 */
export function checkTableName(name: unknown, what = 'table'): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new TypeError(`${what} must be "name" or "schema.name" of lower-case identifiers ([a-z_][a-z0-9_]*)`);
  }
  return name as string;
}

/** Accepts a lower-case identifier for a LISTEN/NOTIFY channel, or throws a `TypeError`. */
export function checkChannelName(name: unknown): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new TypeError('channel must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)');
  }
  return name;
}

/** One migration: apply each `id` once, in order. */
export interface Migration {
  id: string;
  sql: string;
}

/**
 * The outbox schema for a table name of your choice (validated), as ordered migrations. The SQL is
 * idempotent (`IF NOT EXISTS`) and PostgreSQL 15 compatible; event ids are made by the application
 * (UUID v7), `position` (bigserial) gives the order.
 */
export function createOutboxMigrations(options: { table?: string } = {}): Migration[] {
  const table = checkTableName(options.table ?? DEFAULT_OUTBOX_TABLE);
  const base = table.split('.').pop() as string;
  const suffix = table === DEFAULT_OUTBOX_TABLE ? '' : `_${table.replace('.', '_')}`;
  return [
    {
      id: `0001_switchboard_tx_outbox${suffix}`,
      sql: `
CREATE TABLE IF NOT EXISTS ${table} (
  position         bigserial PRIMARY KEY,
  id               uuid NOT NULL UNIQUE,
  topic            text NOT NULL,
  key              text NOT NULL,
  payload          jsonb NOT NULL,
  headers          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  delivered_at     timestamptz,
  dead_at          timestamptz
);
CREATE INDEX IF NOT EXISTS ${base}_pending_idx
  ON ${table} (key, position) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX IF NOT EXISTS ${base}_pending_position_idx
  ON ${table} (position) WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${base}_delivered_idx
  ON ${table} (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${base}_dead_idx
  ON ${table} (dead_at) WHERE dead_at IS NOT NULL;
`,
    },
  ];
}
