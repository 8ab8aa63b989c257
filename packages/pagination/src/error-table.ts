import type { InvalidCursorError, PaginationArgumentError, PaginationErrorCode } from './errors.ts';

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

/** What a client receives for a pagination input error, whatever the transport. */
export interface PaginationErrorResponse {
  status: 400;
  message: string;
  /** GraphQL `extensions` (also a fine JSON error body): `code` and the `argument` at fault. */
  extensions: { code: 'BAD_USER_INPUT'; argument: string };
}

/**
 * The response for a client's pagination mistake (a bad cursor, a bad `first` / `last`), from
 * {@link PAGINATION_ERROR_TABLE}: for HTTP adapters; GraphQL servers use `toGraphQLError` from
 * `@switchboard/pagination/graphql`, built on it. A NULL or duplicate sort key is the server's
 * fault and has no client response: answer it as any server error.
 */
export function paginationErrorResponse(error: InvalidCursorError | PaginationArgumentError): PaginationErrorResponse {
  const message =
    error.code === 'INVALID_CURSOR'
      ? `Invalid cursor in "${error.argument}".`
      : error.message.replace(/^./, (c) => c.toUpperCase());
  const { status, graphqlCode } = PAGINATION_ERROR_TABLE[error.code];
  return {
    status: status as 400,
    message,
    extensions: { code: graphqlCode as 'BAD_USER_INPUT', argument: error.argument },
  };
}
