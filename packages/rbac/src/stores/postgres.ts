import { resolveTelemetry } from '@switchboard/hot-path';
import { type AuditContext, type AuditRecord, auditPage, checkAuditEntry, resolveAuditQuery } from '../audit.ts';
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

/**
 * The schema, in order (idempotent): grants (their primary key serves the one hot lookup, a
 * user's grants), runtime-editable roles with the policy version, and the audit trail that
 * both stores write.
 */
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
  {
    id: '0002_switchboard_rbac_policy',
    sql: `
CREATE TABLE IF NOT EXISTS switchboard_rbac_roles (
  name        text PRIMARY KEY,
  definition  jsonb NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One row: the version of the whole stored policy, bumped by every change (what instances poll,
-- and what a change is conditioned on, so that concurrent changes cannot both land).
CREATE TABLE IF NOT EXISTS switchboard_rbac_policy (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  version     bigint NOT NULL
);
INSERT INTO switchboard_rbac_policy (id, version) VALUES (true, 0) ON CONFLICT DO NOTHING;
-- deleteRole's "still granted" check and its cascade look grants up by role.
CREATE INDEX IF NOT EXISTS switchboard_rbac_grants_by_role ON switchboard_rbac_grants (role);
`,
  },
  {
    id: '0003_switchboard_rbac_audit',
    sql: `
CREATE TABLE IF NOT EXISTS switchboard_rbac_audit (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text,
  action      text NOT NULL,
  role        text NOT NULL,
  user_id     text,
  scope       text,
  before      jsonb,
  after       jsonb,
  request_id  text
);
-- Newest-first pages (ORDER BY id DESC) filtered by scope, user or role.
CREATE INDEX IF NOT EXISTS switchboard_rbac_audit_by_scope ON switchboard_rbac_audit (scope, id) WHERE scope IS NOT NULL;
CREATE INDEX IF NOT EXISTS switchboard_rbac_audit_by_user ON switchboard_rbac_audit (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS switchboard_rbac_audit_by_role ON switchboard_rbac_audit (role, id);
`,
  },
];

export interface PostgresGrantStoreOptions {
  /** A `pg.Pool` you created (the store never closes it), or a client bound to your transaction. */
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
export const AUDIT_TABLE = 'switchboard_rbac_audit';

// Each change and its audit rows are one statement (a data-modifying WITH): atomic on a pool as
// in a transaction, and a no-op (granting a held role, revoking a missing one) records nothing.
/** Records each row of a `revoked` CTE; `$actor` and `$actor + 1` (the request id) are its parameters. */
const auditRevoked = (actor: number) =>
  `INSERT INTO ${AUDIT_TABLE} (actor, action, role, user_id, scope, request_id)
  SELECT $${actor}::text, 'revoke', role, user_id, NULLIF(scope, ''), $${actor + 1}::text FROM revoked`;
const GRANT_SQL = `WITH granted AS (
  INSERT INTO ${TABLE} (user_id, scope, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING user_id, scope, role
)
INSERT INTO ${AUDIT_TABLE} (actor, action, role, user_id, scope, request_id)
SELECT $4::text, 'grant', role, user_id, NULLIF(scope, ''), $5::text FROM granted`;
const REVOKE_SQL = `WITH revoked AS (
  DELETE FROM ${TABLE} WHERE user_id = $1 AND scope = $2 AND role = $3 RETURNING user_id, scope, role
)
${auditRevoked(4)}`;
const REVOKE_SCOPE_SQL = `WITH revoked AS (
  DELETE FROM ${TABLE} WHERE user_id = $1 AND scope = $2 RETURNING user_id, scope, role
)
${auditRevoked(3)}`;
const REVOKE_ROLE_SQL = `WITH revoked AS (
  DELETE FROM ${TABLE} WHERE role = $1 RETURNING user_id, scope, role
), audited AS (
  ${auditRevoked(2)}
)
SELECT DISTINCT user_id FROM revoked`;
const GRANTS_OF_SQL = `SELECT role, scope FROM ${TABLE} WHERE user_id = $1`;
const COUNT_GRANTS_SQL = `SELECT count(*)::int AS count FROM ${TABLE} WHERE role = $1`;
const RECORD_SQL = `INSERT INTO ${AUDIT_TABLE} (actor, action, role, user_id, scope, before, after, request_id)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)`;
// Custom plans (unnamed statements) fold the IS NULL tests away, so each filter uses its index.
// The table's id is qualified in ORDER BY: a bare `id` would name the text output column and
// sort '9' after '10'.
const AUDIT_LOG_SQL = `SELECT a.id::text AS id, at, actor, action, role, user_id, scope, before, after, request_id
FROM ${AUDIT_TABLE} a
WHERE ($1::text IS NULL OR scope = $1) AND ($2::text IS NULL OR user_id = $2) AND ($3::text IS NULL OR role = $3)
  AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::bigint IS NULL OR a.id < $5)
ORDER BY a.id DESC LIMIT $6`;

const SPANS = {
  grant: statementSpan('INSERT', TABLE, GRANT_SQL),
  revoke: statementSpan('DELETE', TABLE, REVOKE_SQL),
  revokeScope: statementSpan('DELETE', TABLE, REVOKE_SCOPE_SQL),
  revokeRole: statementSpan('DELETE', TABLE, REVOKE_ROLE_SQL),
  grantsOf: statementSpan('SELECT', TABLE, GRANTS_OF_SQL),
  countGrants: statementSpan('SELECT', TABLE, COUNT_GRANTS_SQL),
  recordAudit: statementSpan('INSERT', AUDIT_TABLE, RECORD_SQL),
  auditLog: statementSpan('SELECT', AUDIT_TABLE, AUDIT_LOG_SQL),
} satisfies Record<string, StatementSpan>;

/** Runs statements, each in a CLIENT span when telemetry is on (shared by both Postgres stores). */
export function statementRunner(
  caller: string,
  pool: Queryable,
  telemetry: Telemetry | undefined,
): <Row extends { [column: string]: unknown }>(
  span: StatementSpan,
  text: string,
  values: unknown[],
) => Promise<{ rows: Row[] }> {
  if (!pool || typeof pool.query !== 'function') throw new TypeError(`${caller}: \`pool\` must be a pg.Pool`);
  const api = resolveTelemetry(caller, telemetry);
  const tracer = api?.trace.getTracer(INSTRUMENTATION_SCOPE);
  return (span, text, values) => {
    const query = () => pool.query(text, values) as Promise<{ rows: never[] }>;
    return api && tracer ? inStatementSpan(api, tracer, span, query) : query();
  };
}

/** A row of the audit table as the log answers it. */
interface AuditRow {
  id: string;
  at: Date;
  actor: string | null;
  action: string;
  role: string;
  user_id: string | null;
  scope: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

const toRecord = (row: AuditRow): AuditRecord => ({
  id: row.id,
  at: row.at,
  actor: row.actor,
  action: row.action,
  role: row.role,
  ...(row.user_id === null ? {} : { userId: row.user_id }),
  ...(row.scope === null ? {} : { scope: row.scope }),
  ...(row.before === null ? {} : { before: row.before }),
  ...(row.after === null ? {} : { after: row.after }),
  ...(row.request_id === null ? {} : { requestId: row.request_id }),
});

const who = (context: AuditContext | undefined) => [context?.actor ?? null, context?.requestId ?? null];

/**
 * Grants in PostgreSQL, each change recorded in the audit table by the same statement; apply
 * `migrations` first. Bound to a transaction's client, grants and their records commit with it.
 */
export function createPostgresGrantStore(options: PostgresGrantStoreOptions): GrantStore {
  const run = statementRunner('createPostgresGrantStore', options?.pool, options?.telemetry);
  return {
    async grant(userId, role, scope, context) {
      await run(SPANS.grant, GRANT_SQL, [userId, scope ?? '', role, ...who(context)]);
    },
    async revoke(userId, role, scope, context) {
      await run(SPANS.revoke, REVOKE_SQL, [userId, scope ?? '', role, ...who(context)]);
    },
    async revokeScope(userId, scope, context) {
      // '' is how this table stores the global scope: refused, or it would revoke global grants.
      checkRevokedScope(scope);
      await run(SPANS.revokeScope, REVOKE_SCOPE_SQL, [userId, scope, ...who(context)]);
    },
    async grantsOf(userId): Promise<Grant[]> {
      const { rows } = await run<{ role: string; scope: string }>(SPANS.grantsOf, GRANTS_OF_SQL, [userId]);
      return rows.map((row) => ({ role: row.role, scope: row.scope === '' ? null : row.scope }));
    },
    async countGrants(role) {
      const { rows } = await run<{ count: number }>(SPANS.countGrants, COUNT_GRANTS_SQL, [role]);
      return rows[0]?.count ?? 0;
    },
    async revokeRole(role, context) {
      const { rows } = await run<{ user_id: string }>(SPANS.revokeRole, REVOKE_ROLE_SQL, [role, ...who(context)]);
      return rows.map((row) => row.user_id);
    },
    async recordAudit(entry) {
      checkAuditEntry(entry);
      await run(SPANS.recordAudit, RECORD_SQL, [
        entry.actor ?? null,
        entry.action,
        entry.role,
        entry.userId ?? null,
        entry.scope ?? null,
        entry.before === undefined ? null : JSON.stringify(entry.before),
        entry.after === undefined ? null : JSON.stringify(entry.after),
        entry.requestId ?? null,
      ]);
    },
    async auditLog(query) {
      const resolved = resolveAuditQuery(query);
      const { rows } = await run<AuditRow & { [column: string]: unknown }>(SPANS.auditLog, AUDIT_LOG_SQL, [
        resolved.scope ?? null,
        resolved.userId ?? null,
        resolved.role ?? null,
        resolved.since ?? null,
        resolved.before === undefined ? null : String(resolved.before),
        resolved.first + 1,
      ]);
      return auditPage(rows.map(toRecord), resolved.first);
    },
  };
}
