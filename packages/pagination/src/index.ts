/**
 * @switchboard/pagination: Relay cursor connections over keyset ("seek") queries, with opaque,
 * versioned, optionally signed cursors bound to the query they came from. Adapters: in-memory
 * arrays and Postgres (any `{ query(text, params) }`). GraphQL helpers: `@switchboard/pagination/graphql`.
 * @packageDocumentation
 */
export type { Connection, ConnectionArgs, Edge, PageInfo, PageOptions } from './connection.ts';
export { CURSOR_VERSION, type KeyValue } from './cursor.ts';
export {
  PAGINATION_ERROR_TABLE,
  type PaginationErrorMapping,
  type PaginationErrorResponse,
  paginationErrorResponse,
} from './error-table.ts';
export {
  DuplicateSortKeyError,
  InvalidCursorError,
  type InvalidCursorReason,
  isPaginationError,
  isPaginationInputError,
  NullSortKeyError,
  PaginationArgumentError,
  PaginationError,
  type PaginationErrorCode,
} from './errors.ts';
export type { OrderKey, OrderKeyInfo, PaginatorOptions } from './options.ts';
export { createPaginator, type Paginator, type Queryable } from './paginator.ts';
export type { PostgresSource } from './sql.ts';
