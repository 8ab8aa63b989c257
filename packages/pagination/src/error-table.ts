import type { PaginationErrorCode } from './errors.ts';

/** How one {@link PaginationErrorCode} reaches a client. */
export interface PaginationErrorMapping {
  /** HTTP status of a response failing with this error. */
  readonly status: 400 | 500;
  /** GraphQL `extensions.code`. */
  readonly graphqlCode: 'BAD_USER_INPUT' | 'INTERNAL_SERVER_ERROR';
}

/**
 * The one table from every {@link PaginationErrorCode} to what a client sees. A bad cursor or a
 * bad `first`/`last` is the client's mistake (400, `BAD_USER_INPUT`); a NULL or duplicate sort
 * key is the server's (500: `toGraphQLError` leaves those errors for the server's masking).
 * `toGraphQLError` (from `@switchboard/pagination/graphql`) reads it; adapters of other
 * frameworks should too.
 */
export const PAGINATION_ERROR_TABLE: { readonly [Code in PaginationErrorCode]: PaginationErrorMapping } = Object.freeze(
  {
    INVALID_CURSOR: Object.freeze({ status: 400, graphqlCode: 'BAD_USER_INPUT' }),
    INVALID_PAGINATION_ARGUMENT: Object.freeze({ status: 400, graphqlCode: 'BAD_USER_INPUT' }),
    NULL_SORT_KEY: Object.freeze({ status: 500, graphqlCode: 'INTERNAL_SERVER_ERROR' }),
    DUPLICATE_SORT_KEY: Object.freeze({ status: 500, graphqlCode: 'INTERNAL_SERVER_ERROR' }),
  },
);
