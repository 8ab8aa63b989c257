import type { AuthError, AuthErrorCode } from './errors.ts';

/** The GraphQL `extensions.code` values an auth error can become. */
export type AuthGraphQLCode = 'UNAUTHENTICATED' | 'BUSY' | 'SERVICE_UNAVAILABLE' | 'INTERNAL_SERVER_ERROR';

/** How one {@link AuthErrorCode} reaches a client. */
export interface AuthErrorMapping {
  /** HTTP status of a response failing with this error. */
  status: 401 | 500 | 503;
  /** GraphQL `extensions.code`. */
  graphqlCode: AuthGraphQLCode;
  /**
   * GraphQL `extensions.reason`: the auth code itself, where `graphqlCode` alone would lose it
   * (every 401 is `UNAUTHENTICATED`, but a client refreshes on `TOKEN_EXPIRED` and logs in again
   * on `REFRESH_TOKEN_REUSED`).
   */
  reason?: AuthErrorCode;
  /**
   * The RFC 6750 `WWW-Authenticate` challenge of a 401: `error="invalid_token"` when an access
   * token was presented and refused, a bare `Bearer` otherwise (RFC 6750 §3.1: no error code
   * when the request carried no credentials).
   */
  challenge?: 'Bearer' | 'Bearer error="invalid_token"';
  /**
   * Replaces the error's own message for clients: the original names internals (a key's
   * problem, a database error) that only the server log should see.
   */
  publicMessage?: string;
}

const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/**
 * The one table from every {@link AuthErrorCode} to what a client sees: HTTP status, GraphQL
 * `extensions.code` and `reason`, challenge. `toGraphQLError` (from `@switchboard/auth/graphql`),
 * the yoga plugin and {@link authErrorResponse} all read it; adapters of other frameworks
 * should too, so that no second mapping drifts from this one.
 */
export const AUTH_ERROR_TABLE: { readonly [Code in AuthErrorCode]: Readonly<AuthErrorMapping> } = Object.freeze({
  UNAUTHENTICATED: { status: 401, graphqlCode: 'UNAUTHENTICATED', challenge: 'Bearer' },
  TOKEN_EXPIRED: {
    status: 401,
    graphqlCode: 'UNAUTHENTICATED',
    reason: 'TOKEN_EXPIRED',
    challenge: INVALID_TOKEN_CHALLENGE,
  },
  INVALID_TOKEN: {
    status: 401,
    graphqlCode: 'UNAUTHENTICATED',
    reason: 'INVALID_TOKEN',
    challenge: INVALID_TOKEN_CHALLENGE,
  },
  SESSION_REVOKED: {
    status: 401,
    graphqlCode: 'UNAUTHENTICATED',
    reason: 'SESSION_REVOKED',
    challenge: INVALID_TOKEN_CHALLENGE,
  },
  INVALID_REFRESH_TOKEN: {
    status: 401,
    graphqlCode: 'UNAUTHENTICATED',
    reason: 'INVALID_REFRESH_TOKEN',
    challenge: 'Bearer',
  },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    graphqlCode: 'UNAUTHENTICATED',
    reason: 'REFRESH_TOKEN_REUSED',
    challenge: 'Bearer',
  },
  INVALID_DEVICE_TOKEN: {
    status: 401,
    graphqlCode: 'UNAUTHENTICATED',
    reason: 'INVALID_DEVICE_TOKEN',
    challenge: 'Bearer',
  },
  BUSY: { status: 503, graphqlCode: 'BUSY' },
  STORE_UNAVAILABLE: {
    status: 503,
    graphqlCode: 'SERVICE_UNAVAILABLE',
    reason: 'STORE_UNAVAILABLE',
    publicMessage: 'The session store is not answering; try again shortly.',
  },
  // A bad signing key is a configuration error of the server, never the client's doing.
  INVALID_KEY: { status: 500, graphqlCode: 'INTERNAL_SERVER_ERROR', publicMessage: 'Unexpected error.' },
});

/** What a client receives for an auth error, whatever the transport. */
export interface AuthErrorResponse {
  status: number;
  /** `WWW-Authenticate` on 401, `Retry-After` (whole seconds) on 503. */
  headers: Record<string, string>;
  /** Safe to show: the error's message, or a generic one for server-side failures. */
  message: string;
  /** GraphQL `extensions` (also a fine JSON error body): `code`, and `reason` / `retryAfterMs` where set. */
  extensions: { code: AuthGraphQLCode; reason?: AuthErrorCode; retryAfterMs?: number };
}

// When the error does not say (only BUSY carries its own estimate).
const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * The response for an auth error, from {@link AUTH_ERROR_TABLE}: for HTTP adapters (Express,
 * NestJS, a plain handler); GraphQL servers use `toGraphQLError` from `@switchboard/auth/graphql`.
 *
 * @example
 * const { status, headers, message, extensions } = authErrorResponse(error);
 * res.status(status).set(headers).json({ error: message, ...extensions });
 */
export function authErrorResponse(error: AuthError): AuthErrorResponse {
  const mapping = AUTH_ERROR_TABLE[error.code] ?? AUTH_ERROR_TABLE.INVALID_KEY;
  const headers: Record<string, string> = {};
  const extensions: AuthErrorResponse['extensions'] = { code: mapping.graphqlCode };
  if (mapping.reason !== undefined) extensions.reason = mapping.reason;
  if (mapping.challenge !== undefined) headers['WWW-Authenticate'] = mapping.challenge;
  if (mapping.status === 503) {
    const hinted = (error as { retryAfterMs?: unknown }).retryAfterMs;
    const retryAfterMs =
      typeof hinted === 'number' && Number.isFinite(hinted) && hinted > 0 ? hinted : DEFAULT_RETRY_AFTER_MS;
    extensions.retryAfterMs = retryAfterMs;
    // Retry-After counts whole seconds; rounding down would invite a retry that is still too early.
    headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  }
  return { status: mapping.status, headers, message: mapping.publicMessage ?? error.message, extensions };
}
