import type { Grant, GrantStore } from '../types.ts';

/**
 * What Switchboard needs of a PostgreSQL client, the same in every package that takes one:
 * `query(text, values)` resolving to `{ rows, rowCount }`. A `pg.Pool`, a `pg.PoolClient`, a
 * transaction of @switchboard/tx and a reader of @switchboard/db-router all fit.
 */
export interface Queryable {
  // `any` as pg's own QueryResultRow has it: the row type callers name (often an interface) fits.
  // biome-ignore lint/suspicious/noExplicitAny: pg's QueryResultRow shape, see above
  query<Row extends { [column: string]: any } = { [column: string]: any }>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** The schema, in order (idempotent). The primary key serves the one lookup: a user's grants. */
export const migrations: readonly { id: string; sql: string }[] = [
  {
    id: '0001_switchboard_rbac_grants',
    sql: `
CREATE TABLE IF NOT EXISTS switchboard_rbac_grants (
  user_id     text NOT NULL,
  -- '' is a global grant (a primary key cannot hold NULL)
  scope       text NOT NULL DEFAULT '',
  role        text NOT NULL,
  granted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, scope, role)
);
`,
  },
];

/** Grants in PostgreSQL; apply `migrations` first. Role definitions stay in code. */
export function createPostgresGrantStore(options: { pool: Queryable }): GrantStore {
  const { pool } = options;
  if (!pool || typeof pool.query !== 'function')
    throw new TypeError('createPostgresGrantStore: `pool` must be a pg.Pool');
  return {
    async grant(userId, role, scope) {
      await pool.query(
        'INSERT INTO switchboard_rbac_grants (user_id, scope, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [userId, scope ?? '', role],
      );
    },
    async revoke(userId, role, scope) {
      await pool.query('DELETE FROM switchboard_rbac_grants WHERE user_id = $1 AND scope = $2 AND role = $3', [
        userId,
        scope ?? '',
        role,
      ]);
    },
    async grantsOf(userId): Promise<Grant[]> {
      const { rows } = await pool.query<{ role: string; scope: string }>(
        'SELECT role, scope FROM switchboard_rbac_grants WHERE user_id = $1',
        [userId],
      );
      return rows.map((row) => ({ role: row.role, scope: row.scope === '' ? null : row.scope }));
    },
  };
}
