/**
 * @switchboard/auth/postgres: the session and device-token stores over PostgreSQL (`pg`), and
 * their schema as ordered migrations for your migration runner.
 * @packageDocumentation
 */

export {
  createPostgresSessionStore,
  migrations,
  type PostgresSessionStoreOptions,
  type Queryable,
} from './stores/postgres.ts';
export {
  createPostgresDeviceTokenStore,
  type PostgresDeviceTokenStoreOptions,
} from './stores/postgres-devices.ts';
