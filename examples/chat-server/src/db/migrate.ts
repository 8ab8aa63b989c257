import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';

/** One step of a schema, in the shape every Switchboard package exports from `./postgres`. */
export interface Migration {
  id: string;
  sql: string;
}

/** Migrations of one owner (a package or the application), applied in their given order. */
export interface MigrationSource {
  /** Recorded with each id, so two owners may both have a `0001_…`. */
  owner: string;
  migrations: readonly Migration[];
}

/** A migration failed, or one already applied was edited afterwards. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Any key will do as long as every instance uses the same one. */
const MIGRATION_LOCK_KEY = 7_160_019_284;

const HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS switchboard_migrations (
  owner       text NOT NULL,
  id          text NOT NULL,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner, id)
)`;

/**
 * Applies the migrations not yet recorded, each in its own transaction together with its
 * record. An advisory lock makes instances that start together take turns: the second one
 * finds everything applied. A recorded migration whose SQL changed since is refused rather than
 * silently skipped.
 */
export async function migrate(pool: pg.Pool, sources: readonly MigrationSource[]): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(HISTORY_TABLE);
    const { rows } = await client.query<{ owner: string; id: string; checksum: string }>(
      'SELECT owner, id, checksum FROM switchboard_migrations',
    );
    const recorded = new Map(rows.map((row) => [`${row.owner}:${row.id}`, row.checksum]));
    for (const { owner, migrations } of sources) {
      for (const migration of migrations) {
        const name = `${owner}:${migration.id}`;
        const checksum = createHash('sha256').update(migration.sql).digest('hex');
        const previous = recorded.get(name);
        if (previous !== undefined) {
          if (previous !== checksum) {
            throw new MigrationError(
              `migration ${name} was changed after it was applied; add a new migration instead of editing it`,
            );
          }
          continue;
        }
        await applyOne(client, owner, migration, checksum);
        applied.push(name);
      }
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}

async function applyOne(client: pg.PoolClient, owner: string, migration: Migration, checksum: string): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(migration.sql);
    await client.query('INSERT INTO switchboard_migrations (owner, id, checksum) VALUES ($1, $2, $3)', [
      owner,
      migration.id,
      checksum,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new MigrationError(`migration ${owner}:${migration.id} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The application's own migrations: `*.sql` files of a folder, in file-name order. */
export async function readSqlMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  return Promise.all(
    files.map(async (file) => ({ id: file.slice(0, -'.sql'.length), sql: await readFile(join(dir, file), 'utf8') })),
  );
}
