import { type StatementSpan, statementSpan, type Telemetry } from '../telemetry.ts';
import type { PolicyStore, StoredRole, StoredRoleDefinition } from '../types.ts';
import { AUDIT_TABLE, type Queryable, statementRunner } from './postgres.ts';

export interface PostgresPolicyStoreOptions {
  /** A `pg.Pool` you created; the store never closes it. */
  pool: Queryable;
  /** OpenTelemetry, as for `createPostgresGrantStore`. @default false */
  telemetry?: Telemetry;
}

const ROLES = 'switchboard_rbac_roles';
const POLICY = 'switchboard_rbac_policy';

// One statement reads the version and the roles together: a consistent snapshot.
const LOAD_SQL = `SELECT p.version::text AS policy_version, r.name, r.definition, r.version
FROM ${POLICY} p LEFT JOIN ${ROLES} r ON true`;
const VERSION_SQL = `SELECT version::text AS version FROM ${POLICY}`;
// The change lands only if the policy is still at $1: the UPDATE locks the one version row, so
// a concurrent change waits, then finds the version moved and writes nothing (the caller reloads,
// validates again and retries). Role row, version and audit record commit together.
const WRITE_SQL = `WITH bumped AS (
  UPDATE ${POLICY} SET version = version + 1 WHERE version = $1 RETURNING version
), removed AS (
  DELETE FROM ${ROLES} WHERE name = $2 AND $3::jsonb IS NULL AND EXISTS (SELECT 1 FROM bumped)
), written AS (
  INSERT INTO ${ROLES} (name, definition, version)
  SELECT $2, $3::jsonb, $4 FROM bumped WHERE $3::jsonb IS NOT NULL
  ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, version = EXCLUDED.version, updated_at = now()
), audited AS (
  INSERT INTO ${AUDIT_TABLE} (actor, action, role, before, after, request_id)
  SELECT $5::text, $6::text, $2, $7::jsonb, $3::jsonb, $8::text FROM bumped
)
SELECT version::text AS version FROM bumped`;

const SPANS = {
  load: statementSpan('SELECT', ROLES, LOAD_SQL),
  version: statementSpan('SELECT', POLICY, VERSION_SQL),
  write: statementSpan('UPDATE', POLICY, WRITE_SQL),
} satisfies Record<string, StatementSpan>;

const MISSING = 'the rbac policy tables are missing: apply `migrations` from @switchboard/rbac/postgres first';

/**
 * Runtime-editable roles in PostgreSQL (apply `migrations` first); changes are recorded in the
 * audit table the grant store writes, so one `auditLog` pages both.
 */
export function createPostgresPolicyStore(options: PostgresPolicyStoreOptions): PolicyStore {
  const run = statementRunner('createPostgresPolicyStore', options?.pool, options?.telemetry);
  return {
    async load() {
      const { rows } = await run<{
        policy_version: string;
        name: string | null;
        definition: StoredRoleDefinition | null;
        version: number | null;
      }>(SPANS.load, LOAD_SQL, []);
      if (rows.length === 0) throw new Error(MISSING);
      const roles: StoredRole[] = [];
      for (const row of rows) {
        if (row.name !== null && row.definition !== null && row.version !== null)
          roles.push({ name: row.name, definition: row.definition, version: row.version });
      }
      return { version: Number((rows[0] as { policy_version: string }).policy_version), roles };
    },
    async version() {
      const { rows } = await run<{ version: string }>(SPANS.version, VERSION_SQL, []);
      if (rows.length === 0) throw new Error(MISSING);
      return Number((rows[0] as { version: string }).version);
    },
    async write(change, basedOn) {
      const { rows } = await run<{ version: string }>(SPANS.write, WRITE_SQL, [
        basedOn,
        change.role,
        change.after ? JSON.stringify(change.after.definition) : null,
        change.after?.version ?? null,
        change.context.actor ?? null,
        change.action,
        change.before ? JSON.stringify(change.before.definition) : null,
        change.context.requestId ?? null,
      ]);
      const written = rows[0];
      return written ? Number(written.version) : null;
    },
  };
}
