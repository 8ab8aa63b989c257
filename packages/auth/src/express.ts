/**
 * @switchboard/auth/express: middleware that puts the request's principal on `req.principal`
 * (Express 5 and 4). A plain `(req, res, next)` function: nothing of Express is imported.
 * @packageDocumentation
 */
import type { Principal } from './access-tokens.ts';
import { authenticateHttpRequest, checkHttpAuthOptions, type HttpAuthOptions } from './http-request-auth.ts';

export type { AuthRefusalBody, RequestVerifier } from './http-request-auth.ts';

declare global {
  // Express's own augmentation point (as passport uses): `req.principal` typed in every handler.
  namespace Express {
    interface Request {
      /** Set by `authMiddleware`: the caller, or `null` (optional mode, no token). */
      principal?: Principal | null;
    }
  }
}

export interface AuthMiddlewareOptions extends HttpAuthOptions {}

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
  const settings = checkHttpAuthOptions(options, 'authMiddleware');
  return function switchboardAuth(req, res, next) {
    authenticateHttpRequest(req.headers, settings).then((outcome) => {
      if (outcome.ok) {
        req.principal = outcome.principal;
        next();
        return;
      }
      res.status(outcome.status).set(outcome.headers).json(outcome.body);
    }, next);
  };
}
