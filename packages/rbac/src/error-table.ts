import type { RbacErrorCode } from './errors.ts';

/** How one {@link RbacErrorCode} reaches a client. */
export interface RbacErrorMapping {
  /** HTTP status of a response failing with this error. */
  readonly status: 400 | 403 | 409 | 500;
  /** GraphQL `extensions.code`. */
  readonly graphqlCode: 'FORBIDDEN' | 'CONFLICT' | 'BAD_USER_INPUT' | 'INTERNAL_SERVER_ERROR';
  /**
   * Replaces the error's own message for clients: a bad policy is the server's configuration
   * error, and its message names roles that only the server log should see.
   */
  readonly publicMessage?: string;
}

/**
 * The one table from every {@link RbacErrorCode} to what a client sees: HTTP status and GraphQL
 * `extensions.code`. `toGraphQLError` (from `@switchboard/rbac/graphql`) and the `@requires`
 * directive read it; adapters of other frameworks should too, so that no second mapping drifts
 * from this one.
 */
export const RBAC_ERROR_TABLE: { readonly [Code in RbacErrorCode]: RbacErrorMapping } = Object.freeze({
  FORBIDDEN: Object.freeze({ status: 403, graphqlCode: 'FORBIDDEN' }),
  INVALID_POLICY: Object.freeze({
    status: 500,
    graphqlCode: 'INTERNAL_SERVER_ERROR',
    publicMessage: 'Unexpected error.',
  }),
  // An admin's edit lost a race (or the role is still granted): retry after reloading.
  POLICY_CONFLICT: Object.freeze({ status: 409, graphqlCode: 'CONFLICT' }),
  INVALID_AUDIT_QUERY: Object.freeze({ status: 400, graphqlCode: 'BAD_USER_INPUT' }),
});
