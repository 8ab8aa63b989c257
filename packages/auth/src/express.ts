/**
 * @switchboard/auth/express: middleware that puts the request's principal on `req.principal`
 * (Express 5 and 4). A plain `(req, res, next)` function: nothing of Express is imported.
 * @packageDocumentation
 */
import type { Principal } from './access-tokens.ts';
import type { Auth } from './auth.ts';
import { bearerToken } from './authenticate.ts';
import { authErrorResponse } from './error-table.ts';
import { AuthError, isAuthError } from './errors.ts';

declare global {
  // Express's own augmentation point (as passport uses): `req.principal` typed in every handler.
  namespace Express {
    interface Request {
      /** Set by `authMiddleware`: the caller, or `null` (optional mode, no token). */
      principal?: Principal | null;
    }
  }
}

export interface AuthMiddlewareOptions {
  auth: Pick<Auth, 'verifyAccessToken'>;
  /**
   * Let a request without a token through with `req.principal = null`. A token that is present
   * but expired or invalid is refused all the same: a bad token is never taken as anonymous.
   * @default false (401 without a token)
   */
  optional?: boolean;
}

/** What the middleware reads and sets on a request. */
export interface AuthMiddlewareRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal | null;
}

/** What it calls on a response to refuse a request. */
export interface AuthMiddlewareResponse {
  status(code: number): AuthMiddlewareResponse;
  set(headers: Record<string, string>): AuthMiddlewareResponse;
  json(body: unknown): unknown;
}

/**
 * Reads `Authorization: Bearer <access token>`, verifies it (a signature check, no I/O) and sets
 * `req.principal`. A refusal answers from the package's error table (`authErrorResponse`): 401
 * with `WWW-Authenticate` (RFC 6750) and a JSON body `{ error, code, reason }`, e.g.
 * `{ "error": "access token expired", "code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED" }`.
 * Anything that is not an auth error goes to `next(error)`.
 *
 * @example
 * app.use('/api', authMiddleware({ auth }));
 * app.get('/api/me', (req, res) => res.json({ userId: req.principal?.userId }));
 */
export function authMiddleware(
  options: AuthMiddlewareOptions,
): (req: AuthMiddlewareRequest, res: AuthMiddlewareResponse, next: (error?: unknown) => void) => void {
  if (typeof options?.auth?.verifyAccessToken !== 'function')
    throw new TypeError('authMiddleware: `auth` must be the instance createAuth returned');
  const optional = options.optional ?? false;
  if (typeof optional !== 'boolean') throw new TypeError('authMiddleware: `optional` must be a boolean');
  const { auth } = options;
  return function switchboardAuth(req, res, next) {
    const refuse = (error: unknown) => {
      if (!isAuthError(error)) {
        next(error);
        return;
      }
      const { status, headers, message, extensions } = authErrorResponse(error);
      res
        .status(status)
        .set(headers)
        .json({ error: message, ...extensions });
    };
    let token: string | undefined;
    try {
      token = bearerToken(req.headers);
    } catch (error) {
      refuse(error);
      return;
    }
    if (token === undefined) {
      if (!optional) {
        refuse(new AuthError('UNAUTHENTICATED', 'authentication required'));
        return;
      }
      req.principal = null;
      next();
      return;
    }
    auth.verifyAccessToken(token).then((principal) => {
      req.principal = principal;
      next();
    }, refuse);
  };
}
