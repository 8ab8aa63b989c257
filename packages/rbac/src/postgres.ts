/**
 * @switchboard/rbac/postgres: the grant store and the policy store over PostgreSQL (`pg`), and
 * their schema (with the audit trail both write) as ordered migrations for your migration runner.
 * @packageDocumentation
 */

export {
  createPostgresGrantStore,
  migrations,
  type PostgresGrantStoreOptions,
  type Queryable,
} from './stores/postgres.ts';
export { createPostgresPolicyStore, type PostgresPolicyStoreOptions } from './stores/postgres-policy.ts';
