import { ok } from 'node:assert/strict';
import { createOutboxMigrations, migrations } from '@switchboard/tx/postgres';

export async function check(): Promise<void> {
  const custom = createOutboxMigrations({ table: 'my_outbox' });
  ok(custom.some((migration) => migration.sql.includes('my_outbox')));
  ok(migrations.length > 0);
}
