import type { ForbiddenError, RbacError, RbacErrorCode } from './errors.ts';

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

/** What a client receives for an rbac error, whatever the transport. */
export interface RbacErrorResponse {
  status: RbacErrorMapping['status'];
  /** Safe to show: the error's message, or a generic one for the server's own mistakes. */
  message: string;
  /** GraphQL `extensions` (also a fine JSON error body): `code`, and for a denial `permission` / `scope`. */
  extensions: { code: RbacErrorMapping['graphqlCode']; permission?: string; scope?: string };
}

/**
 * The response for an rbac error, from {@link RBAC_ERROR_TABLE}: for HTTP adapters (Express,
 * NestJS, a plain handler); GraphQL servers use `toGraphQLError` from `@switchboard/rbac/graphql`,
 * which is built on it.
 *
 * @example
 * const { status, message, extensions } = rbacErrorResponse(error);
 * res.status(status).json({ error: message, ...extensions });
 */
export function rbacErrorResponse(error: RbacError): RbacErrorResponse {
  const mapping = RBAC_ERROR_TABLE[error.code] ?? RBAC_ERROR_TABLE.INVALID_POLICY;
  // Another copy of this package may have thrown it: read the fields, do not check the class.
  const denial = error.code === 'FORBIDDEN' ? (error as Partial<ForbiddenError>) : undefined;
  return {
    status: mapping.status,
    message: mapping.publicMessage ?? error.message,
    extensions: {
      code: mapping.graphqlCode,
      ...(denial?.permission === undefined ? {} : { permission: denial.permission }),
      ...(denial?.scope === undefined ? {} : { scope: denial.scope }),
    },
  };
}
