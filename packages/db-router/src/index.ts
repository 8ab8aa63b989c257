/**
 * @switchboard/db-router: Postgres primary/replica routing with health checks, lag awareness and
 * read-your-writes (causal tokens). Redis token store: `@switchboard/db-router/redis`; token
 * store contract suite: `@switchboard/db-router/testing`.
 * @packageDocumentation
 */
export type { DbRouterEvent } from './cluster.ts';
export { isConnectionError } from './connection-errors.ts';
export {
  DbRouterError,
  type DbRouterErrorCode,
  InvalidCausalTokenError,
  isDbRouterError,
  RouterClosedError,
} from './errors.ts';
export { formatLsn, parseLsn } from './lsn.ts';
export type { NodeState, NodeStats } from './nodes.ts';
export type { DbRouterOptions, NodeSource } from './options.ts';
export type { RoutingPolicy } from './policies.ts';
export { createDbRouter, type DbRouter, type DbRouterStats } from './router.ts';
export { type CausalSessions, type CausalSessionsOptions, createCausalSessions } from './sessions.ts';
export { createMemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory.ts';
export {
  compareCausalTokens,
  isCausalToken,
  newerCausalToken,
  parseCausalToken,
} from './token.ts';
export type { Telemetry } from './tracing.ts';
export type { CausalTokenStore, DbReader, ReadConsistency, ReadOptions, Row, Statement } from './types.ts';
