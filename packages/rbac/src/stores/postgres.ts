import { resolveTelemetry } from '@switchboard/hot-path';
import {
  INSTRUMENTATION_SCOPE,
  inStatementSpan,
  type StatementSpan,
  statementSpan,
  type Telemetry,
} from '../telemetry.ts';
import { checkRevokedScope, type Grant, type GrantStore } from '../types.ts';

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

export interface PostgresGrantStoreOptions {
  /** A `pg.Pool` you created; the store never closes it. */
  pool: Queryable;
  /**
   * OpenTelemetry: each statement runs in a CLIENT span per the database conventions
   * (`SELECT switchboard_rbac_grants`, `db.system.name` `postgresql`, `db.operation.name`,
   * `db.collection.name`, `db.query.text`; a failure's SQLSTATE as `db.response.status_code`).
   * `true` for the global `@opentelemetry/api`, or the API object.
   * @default false (no tracing code runs)
   */
  telemetry?: Telemetry;
}

const TABLE = 'switchboard_rbac_grants';
const GRANT_SQL = `INSERT INTO ${TABLE} (user_id, scope, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`;
const REVOKE_SQL = `DELETE FROM ${TABLE} WHERE user_id = $1 AND scope = $2 AND role = $3`;
const REVOKE_SCOPE_SQL = `DELETE FROM ${TABLE} WHERE user_id = $1 AND scope = $2`;
const GRANTS_OF_SQL = `SELECT role, scope FROM ${TABLE} WHERE user_id = $1`;
const SPANS: Record<'grant' | 'revoke' | 'revokeScope' | 'grantsOf', StatementSpan> = {
  grant: statementSpan('INSERT', TABLE, GRANT_SQL),
  revoke: statementSpan('DELETE', TABLE, REVOKE_SQL),
  revokeScope: statementSpan('DELETE', TABLE, REVOKE_SCOPE_SQL),
  grantsOf: statementSpan('SELECT', TABLE, GRANTS_OF_SQL),
};

/** Grants in PostgreSQL; apply `migrations` first. Role definitions stay in code. */
export function createPostgresGrantStore(options: PostgresGrantStoreOptions): GrantStore {
  const { pool } = options;
  if (!pool || typeof pool.query !== 'function')
    throw new TypeError('createPostgresGrantStore: `pool` must be a pg.Pool');
  const api = resolveTelemetry('createPostgresGrantStore', options.telemetry);
  const tracer = api?.trace.getTracer(INSTRUMENTATION_SCOPE);
  const run = <Row extends { [column: string]: unknown }>(
    statement: keyof typeof SPANS,
    text: string,
    values: unknown[],
  ) => {
    const query = () => pool.query<Row>(text, values);
    return api && tracer ? inStatementSpan(api, tracer, SPANS[statement], query) : query();
  };
  return {
    async grant(userId, role, scope) {
      await run('grant', GRANT_SQL, [userId, scope ?? '', role]);
    },
    async revoke(userId, role, scope) {
      await run('revoke', REVOKE_SQL, [userId, scope ?? '', role]);
    },
    async revokeScope(userId, scope) {
      // '' is how this table stores the global scope: refused, or it would revoke global grants.
      checkRevokedScope(scope);
      await run('revokeScope', REVOKE_SCOPE_SQL, [userId, scope]);
    },
    async grantsOf(userId): Promise<Grant[]> {
      const { rows } = await run<{ role: string; scope: string }>('grantsOf', GRANTS_OF_SQL, [userId]);
      return rows.map((row) => ({ role: row.role, scope: row.scope === '' ? null : row.scope }));
    },
  };
}
