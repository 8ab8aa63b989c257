import { fileURLToPath } from 'node:url';
import { migrations as authMigrations } from '@switchboard/auth/postgres';
import { migrations as rbacMigrations } from '@switchboard/rbac/postgres';
import { migrations as txMigrations } from '@switchboard/tx/postgres';
import pg from 'pg';
import type { ServerConfig } from '../config.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { type MigrationSource, migrate, readSqlMigrations } from './migrate.ts';

/** The server's PostgreSQL: the configured one, or the embedded one it started itself. */
export interface Database {
  pool: pg.Pool;
  /** Where the embedded server keeps its data; undefined with `DATABASE_URL`. */
  dataDir: string | undefined;
  /** Ends the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

const APP_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export async function openDatabase(config: ServerConfig, options: { poolSize?: number } = {}): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: config.dataDir });
  const pool = new pg.Pool({ connectionString: config.databaseUrl ?? embedded?.url, max: options.poolSize ?? 10 });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    await embedded?.stop();
    throw new Error(`cannot reach the database: ${(error as Error).message}`, { cause: error });
  }
  return {
    pool,
    dataDir: embedded ? config.dataDir : undefined,
    close: async () => {
      await pool.end();
      await embedded?.stop();
    },
  };
}

/**
 * Every schema the server runs on, in order: the tables the packages own, from the migrations
 * they export, then the chat domain's own `.sql` files.
 */
export async function migrationSources(): Promise<MigrationSource[]> {
  return [
    { owner: '@switchboard/auth', migrations: authMigrations },
    { owner: '@switchboard/rbac', migrations: rbacMigrations },
    { owner: '@switchboard/tx', migrations: txMigrations },
    { owner: 'chat-server', migrations: await readSqlMigrations(APP_MIGRATIONS_DIR) },
  ];
}

/** Applies whatever is not applied yet; returns the names applied now. */
export async function migrateDatabase(database: Database): Promise<string[]> {
  return migrate(database.pool, await migrationSources());
}
