/**
 * @switchboard/db-router: Postgres primary/replica routing with health checks, lag awareness and
 * read-your-writes (causal tokens). Redis token store: `@switchboard/db-router/redis`; token
 * store contract suite: `@switchboard/db-router/testing`.
 * @packageDocumentation
 */
export { isConnectionError } from './connection-errors.ts';
export {
  DbRouterError,
  type DbRouterErrorCode,
  InvalidCausalTokenError,
  isDbRouterError,
  RouterClosedError,
} from './errors.ts';
export { formatLsn, parseLsn } from './lsn.ts';
export type { RoutingPolicy } from './policies.ts';
export {
  createDbRouter,
  type DbRouter,
  type DbRouterEvent,
  type DbRouterOptions,
  type DbRouterStats,
  type NodeSource,
  type NodeState,
  type NodeStats,
} from './router.ts';
export { type CausalSessions, type CausalSessionsOptions, createCausalSessions } from './sessions.ts';
export { createMemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory.ts';
export {
  compareCausalTokens,
  isCausalToken,
  newerCausalToken,
  parseCausalToken,
} from './token.ts';
export type { CausalTokenStore, DbReader, ReadConsistency, ReadOptions, Row, Statement } from './types.ts';
