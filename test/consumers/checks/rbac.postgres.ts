import { ok } from 'node:assert/strict';
import { createPostgresGrantStore, createPostgresPolicyStore, migrations } from '@switchboard/rbac/postgres';
import { Pool } from 'pg';

export async function check(): Promise<void> {
  // pg pools connect on first query: nothing here opens a connection.
  const pool = new Pool({ connectionString: 'postgres://app@127.0.0.1:1/app' });
  const store = createPostgresGrantStore({ pool });
  ok(typeof store === 'object' && store !== null);
  ok(typeof createPostgresPolicyStore({ pool }).load === 'function');
  ok(migrations.length > 0);
  await pool.end();
}
