/**
 * The one way the HTTP adapters (Express, Fastify, NestJS) authenticate a request: read the
 * bearer token, verify it, and either hand back the principal or the refusal to answer with,
 * taken from the error table. Each adapter only moves the outcome onto its framework's objects.
 */
import type { Principal } from './access-tokens.ts';
import type { Auth } from './auth.ts';
import { bearerToken } from './authenticate.ts';
import { type AuthErrorResponse, authErrorResponse } from './error-table.ts';
import { AuthError, isAuthError } from './errors.ts';

/** What an adapter needs of an auth instance: only verification (no I/O). */
export type RequestVerifier = Pick<Auth, 'verifyAccessToken'>;

/**
 * The JSON body of a refusal: the public message and the GraphQL extensions, e.g.
 * `{ error: 'access token expired', code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' }`.
 */
export type AuthRefusalBody = { error: string } & AuthErrorResponse['extensions'];

/** The request is let through (`principal` is `null` only in optional mode, without a token) or refused. */
export type HttpAuthOutcome =
  | { readonly ok: true; readonly principal: Principal | null }
  | {
      readonly ok: false;
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: AuthRefusalBody;
    };

/** The options every HTTP adapter takes, checked once at setup by {@link checkHttpAuthOptions}. */
export interface HttpAuthOptions {
  auth: RequestVerifier;
  /**
   * Let a request without a token through with `principal = null`. A token that is present but
   * expired or invalid is refused all the same: a bad token is never taken as anonymous.
   * @default false (401 without a token)
   */
  optional?: boolean;
}

/** Throws a `TypeError` naming `adapter` for misuse, so that it fails at startup, not on a request. */
export function checkHttpAuthOptions(options: HttpAuthOptions, adapter: string): Required<HttpAuthOptions> {
  if (typeof options?.auth?.verifyAccessToken !== 'function')
    throw new TypeError(`${adapter}: \`auth\` must be the instance createAuth returned`);
  const optional = options.optional ?? false;
  if (typeof optional !== 'boolean') throw new TypeError(`${adapter}: \`optional\` must be a boolean`);
  return { auth: options.auth, optional };
}

/**
 * Authenticates one request from its headers. Auth errors become a refusal (401 with
 * `WWW-Authenticate`, or 503 when a store is down); anything else rejects, for the framework's
 * own error handling.
 */
export async function authenticateHttpRequest(
  headers: Record<string, string | string[] | undefined>,
  { auth, optional }: Required<HttpAuthOptions>,
): Promise<HttpAuthOutcome> {
  try {
    const token = bearerToken(headers);
    if (token === undefined) {
      if (optional) return { ok: true, principal: null };
      throw new AuthError('UNAUTHENTICATED', 'authentication required');
    }
    return { ok: true, principal: await auth.verifyAccessToken(token) };
  } catch (error) {
    if (!isAuthError(error)) throw error;
    const { status, headers: responseHeaders, message, extensions } = authErrorResponse(error);
    return { ok: false, status, headers: responseHeaders, body: { error: message, ...extensions } };
  }
}
