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
  /** Requests' pool: every query and connection bounded (`QUERY_TIMEOUT_MS`, `CONNECT_TIMEOUT_MS`). */
  pool: pg.Pool;
  /** Where the pool connects (the migrations open their own connection, without the bounds). */
  connectionString: string;
  /** Where the embedded server keeps its data; undefined with `DATABASE_URL`. */
  dataDir: string | undefined;
  /** Ends the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

const APP_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * How long one statement may run on the server (PostgreSQL's `statement_timeout`, which cancels
 * it cleanly), in ms. Every query of the server is a short indexed one; migrations are exempt
 * (their own connection, {@link migrateDatabase}).
 */
export const STATEMENT_TIMEOUT_MS = 750;
/**
 * How long the server waits for any answer to a query, and for a connection from the pool (or a
 * new one), in ms: a primary that stops answering altogether (stopped, partitioned, its
 * machine frozen) cancels nothing itself, and requests would wait on it, holding the pool, until
 * it comes back. With these bounds a request fails within about a second with
 * `DATABASE_UNAVAILABLE` (HTTP 503) instead, and the next ones work as soon as it answers again.
 */
export const QUERY_TIMEOUT_MS = 1_000;
export const CONNECT_TIMEOUT_MS = 1_000;

export async function openDatabase(config: ServerConfig, options: { poolSize?: number } = {}): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: config.dataDir });
  const connectionString = (config.databaseUrl ?? embedded?.url) as string;
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 10,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
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
    connectionString,
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

/**
 * Applies whatever is not applied yet; returns the names applied now. On a connection of its
 * own, without the request pool's timeouts: a migration may rewrite a large table, and an
 * instance waits for another's migrations (advisory lock) as long as they take.
 */
export async function migrateDatabase(database: Database): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: database.connectionString, max: 1 });
  pool.on('error', () => {});
  try {
    return await migrate(pool, await migrationSources());
  } finally {
    await pool.end();
  }
}
