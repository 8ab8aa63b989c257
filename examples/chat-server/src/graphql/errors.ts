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

/** yoga's `maskedErrors.maskError` signature. */
export type MaskError = (error: unknown, message: string, isDev?: boolean) => Error;

/**
 * yoga's `maskedErrors.maskError`: each package's typed error becomes the GraphQL error a client
 * can act on (`extensions.code`); anything else is masked as "Unexpected error." (no message, no
 * stack). A server fault (an unexpected error, a bad signing key, a broken rbac policy) keeps its
 * cause as the masked error's `originalError`, which never reaches a client (a GraphQL error's
 * JSON has no such field): the operation's log line (`useRequestLogging`) logs that cause, once,
 * at `error` with its stack. Nothing is logged here.
 *
 * Masking twice changes nothing (an error this mask made is returned as it is): it runs as yoga's
 * own mask and again when the operation logging classifies the errors (`maskError` of
 * `useRequestLogging`).
 */
export function createMaskError(): MaskError {
  const made = new WeakSet<object>();
  const mask = maskOnce();
  return (error, message, isDev) => {
    if (typeof error === 'object' && error !== null && made.has(error)) return error as Error;
    const masked = mask(error, message, isDev);
    made.add(masked);
    return masked;
  };
}

function maskOnce(): MaskError {
  return (error, message, isDev) => {
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
      const mapped = rbacError(original, { from: wrapper });
      // A broken policy is the server's fault, not the caller's: the log gets the cause.
      return original.code === 'INVALID_POLICY' ? withCause(mapped, original) : mapped;
    }
    // Each package's own table: status, headers (Retry-After, WWW-Authenticate), code and reason.
    if (isAuthError(original)) {
      const mapped = authError(original, { from: wrapper });
      // A bad signing key is the server's fault: the client sees a masked 500, the log the cause.
      return original.code === 'INVALID_KEY' ? withCause(mapped, original) : mapped;
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
    return masked === error ? masked : withCause(masked as GraphQLError, original);
  };
}

/**
 * `mapped` as the client sees it, with `cause` as its `originalError`: what `useRequestLogging`
 * reads to log a server fault with its stack. graphql's `toJSON` (HTTP, SSE, graphql-ws) leaves
 * `originalError` out.
 */
function withCause(mapped: GraphQLError, cause: unknown): GraphQLError {
  return createGraphQLError(mapped.message, {
    ...(mapped.nodes ? { nodes: mapped.nodes } : {}),
    ...(mapped.source ? { source: mapped.source } : {}),
    ...(mapped.positions ? { positions: mapped.positions } : {}),
    ...(mapped.path ? { path: mapped.path } : {}),
    extensions: mapped.extensions,
    originalError: cause instanceof Error ? cause : new Error(String(cause)),
  });
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
