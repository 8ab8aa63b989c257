/**
 * @switchboard/rbac/postgres: the grant store over PostgreSQL (`pg`), and its schema as ordered
 * migrations for your migration runner.
 * @packageDocumentation
 */
export {
  createPostgresGrantStore,
  migrations,
  type PostgresGrantStoreOptions,
  type Queryable,
} from './stores/postgres.ts';
