import { ok } from 'node:assert/strict';
import { createPostgresSessionStore, migrations } from '@switchboard/auth/postgres';
import { Pool } from 'pg';

export async function check(): Promise<void> {
  // pg pools connect on first query: nothing here opens a connection.
  const pool = new Pool({ connectionString: 'postgres://app@127.0.0.1:1/app' });
  const store = createPostgresSessionStore({ pool });
  ok(typeof store.create === 'function');
  ok(migrations.length > 0 && migrations.every((migration) => migration.sql.length > 0));
  await pool.end();
}
