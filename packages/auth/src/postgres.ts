/**
 * @switchboard/auth/postgres: the session store over PostgreSQL (`pg`), and its schema as
 * ordered migrations for your migration runner.
 * @packageDocumentation
 */
export {
  createPostgresSessionStore,
  migrations,
  type PostgresSessionStoreOptions,
  type Queryable,
} from './stores/postgres.ts';
