/**
 * @switchboard/tx/postgres: the outbox schema as ordered migrations for your migration runner.
 * @packageDocumentation
 */
import { createOutboxMigrations, type Migration } from './schema.ts';

export { createOutboxMigrations, DEFAULT_OUTBOX_TABLE, type Migration } from './schema.ts';

/**
 * The schema of the default outbox table (`switchboard_outbox`), in order. Apply each `id` once
 * with your migration runner; the SQL is idempotent. For another table name use
 * {@link createOutboxMigrations}.
 */
export const migrations: readonly Migration[] = createOutboxMigrations();
