/**
 * @switchboard/auth/graphql: auth errors as GraphQL errors a client can act on, from the
 * package's one error table. Needs only the `graphql` peer.
 * @packageDocumentation
 */
import { GraphQLError } from 'graphql';
import { authErrorResponse } from './error-table.ts';
import type { AuthError } from './errors.ts';

export { AUTH_ERROR_TABLE, type AuthErrorMapping } from './error-table.ts';

/** Options of {@link toGraphQLError}. */
export interface ToGraphQLErrorOptions {
  /** The error graphql-js wrapped the auth error in: supplies `path`, `locations` and source. */
  from?: GraphQLError;
  /**
   * Put the HTTP status and headers in `extensions.http` (graphql-yoga answers with them).
   * `false` leaves the status to the server (200 with the error in the body). @default true
   */
  http?: boolean;
}

/**
 * The GraphQL error for an {@link AuthError}, from `AUTH_ERROR_TABLE`: `extensions.code`
 * (`UNAUTHENTICATED`, `BUSY`, `SERVICE_UNAVAILABLE`, `INTERNAL_SERVER_ERROR`), `extensions.reason`
 * (the auth code, e.g. `TOKEN_EXPIRED`, `SESSION_REVOKED`), `extensions.retryAfterMs` on 503, and
 * `extensions.http` (status, `WWW-Authenticate` / `Retry-After`). The auth error is not attached
 * as `originalError`: graphql-yoga masks a GraphQL error that wraps a non-GraphQL one.
 *
 * @example
 * maskError: (error) => (isAuthError(error.originalError) ? toGraphQLError(error.originalError, { from: error }) : error)
 */
export function toGraphQLError(error: AuthError, options: ToGraphQLErrorOptions = {}): GraphQLError {
  const response = authErrorResponse(error);
  const { from } = options;
  return new GraphQLError(response.message, {
    ...(from?.nodes ? { nodes: from.nodes } : {}),
    ...(from?.source ? { source: from.source } : {}),
    ...(from?.positions ? { positions: from.positions } : {}),
    ...(from?.path ? { path: from.path } : {}),
    extensions: {
      ...response.extensions,
      ...(options.http === false ? {} : { http: { status: response.status, headers: response.headers } }),
    },
  });
}
