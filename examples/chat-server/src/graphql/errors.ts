import { isAuthError } from '@switchboard/auth';
import { toGraphQLError as authError } from '@switchboard/auth/graphql';
import { toGraphQLError as paginationError } from '@switchboard/pagination/graphql';
import { isRateLimitError } from '@switchboard/ratelimit';
import { toGraphQLError as rateLimitError } from '@switchboard/ratelimit/graphql';
import { isRbacError } from '@switchboard/rbac';
import { toGraphQLError as rbacError } from '@switchboard/rbac/graphql';
import { isValidationError } from '@switchboard/validation';
import { toGraphQLError as validationError } from '@switchboard/validation/graphql';
import { type GraphQLError, Kind } from 'graphql';
import { createGraphQLError, maskError as yogaMaskError } from 'graphql-yoga';
import { AppError } from '../chat/errors.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

type Logger = { error(object: object, message: string): void };

/**
 * yoga's `maskedErrors.maskError`: each package's typed error becomes the GraphQL error a client
 * can act on (`extensions.code`); anything else is logged and masked as "Unexpected error."
 * (no message, no stack).
 */
export function createMaskError(log: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const wrapper = error as GraphQLError;
    const original = (wrapper as { originalError?: unknown })?.originalError ?? error;
    const path = wrapper?.path ? { path: wrapper.path } : {};
    const client = (code: string, text: string, extra: Record<string, unknown> = {}, status?: number) =>
      createGraphQLError(text, { ...path, extensions: { code, ...extra, ...(status ? { http: { status } } : {}) } });

    if (isVariableError(wrapper)) {
      return createGraphQLError(wrapper.message, {
        ...(wrapper.nodes ? { nodes: wrapper.nodes } : {}),
        ...(wrapper.source ? { source: wrapper.source } : {}),
        ...(wrapper.positions ? { positions: wrapper.positions } : {}),
        extensions: { ...wrapper.extensions, code: 'BAD_USER_INPUT' },
      });
    }
    if (original instanceof AppError) return client(original.code, original.message);
    if (isValidationError(original)) return validationError(original, { from: wrapper, httpStatus: false });
    const pagination = paginationError(original, { from: wrapper });
    if (pagination !== original) return pagination as Error;
    if (isRbacError(original)) {
      if (original.code !== 'FORBIDDEN') log.error({ err: original }, 'authorization policy error');
      return rbacError(original, { from: wrapper });
    }
    // Each package's own table: status, headers (Retry-After, WWW-Authenticate), code and reason.
    if (isAuthError(original)) {
      // A bad signing key is the server's fault: the client sees a masked 500, the log the cause.
      if (original.code === 'INVALID_KEY') log.error({ err: original }, 'signing key error');
      return authError(original, { from: wrapper });
    }
    if (isRateLimitError(original)) return rateLimitError(original, { from: wrapper });
    // PostgreSQL did not answer in time (stopped, unreachable): fail fast, say so, and ask clients
    // to wait a little before trying again (a crowd retrying at once delays the recovery).
    if (isDatabaseUnavailable(original)) {
      return client('DATABASE_UNAVAILABLE', 'the database is not answering; try again shortly', {
        http: { status: 503, headers: { 'retry-after': '1' } },
      });
    }
    // Already a client error (e.g. RATE_LIMITED from @switchboard/ratelimit's plugin): keep it.
    if (original !== error && (original as { extensions?: { code?: unknown } })?.extensions?.code) {
      return original as Error;
    }
    const masked = yogaMaskError(error, message, isDev);
    if (masked !== error || (wrapper as { originalError?: unknown })?.originalError) {
      log.error({ err: original }, 'unexpected error in a resolver');
    }
    return masked;
  };
}

/**
 * graphql refused a variable's value before running anything (an unknown enum value, a wrong
 * type, a missing required one): the client's mistake, answered as `BAD_USER_INPUT` like the
 * inputs our schemas refuse, not logged as a server fault. graphql points such an error at the
 * variable's definition.
 */
function isVariableError(error: GraphQLError | undefined): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    !error.path &&
    !error.extensions?.code &&
    error.nodes?.length === 1 &&
    error.nodes[0]?.kind === Kind.VARIABLE_DEFINITION
  );
}
