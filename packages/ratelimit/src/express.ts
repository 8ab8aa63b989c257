/**
 * @switchboard/ratelimit/express: a middleware that checks a limiter before the handler
 * (Express 5 and 4). A plain `(req, res, next)` function: nothing of Express is imported.
 * @packageDocumentation
 */
import { createHttpRateLimitCheck, type HttpRateLimitOptions } from './http-rate-limit.ts';

export type { RateLimitRefusalBody } from './http-rate-limit.ts';

/** What the middleware calls on a response. */
export interface RateLimitMiddlewareResponse {
  status(code: number): RateLimitMiddlewareResponse;
  set(headers: Record<string, string>): RateLimitMiddlewareResponse;
  json(body: unknown): unknown;
}

export interface RateLimitMiddlewareOptions<Request> extends HttpRateLimitOptions<Request> {}

/**
 * Consumes from `limiter` for each request. Allowed: `RateLimit` / `RateLimit-Policy` headers
 * (IETF draft) on the response, then `next()`. Refused: 429 with those headers, `Retry-After`,
 * and a JSON body `{ error, code: 'RATE_LIMITED', retryAfterMs }`. A store failure the limiter's
 * `onStoreError` policy surfaces: its status from the package's error table (503). Anything else
 * (a key function that throws, say) goes to `next(error)`.
 *
 * @example
 * app.post('/messages', rateLimitMiddleware({ limiter, key: (req) => req.principal?.userId ?? ipKey(req.ip ?? '') }), send);
 */
// biome-ignore lint/suspicious/noExplicitAny: unannotated `key` / `cost` functions read Express's request as it is (`req.ip`, `req.principal`); annotate the parameter to check it
export function rateLimitMiddleware<Request = any>(
  options: RateLimitMiddlewareOptions<Request>,
): (req: Request, res: RateLimitMiddlewareResponse, next: (error?: unknown) => void) => void {
  const check = createHttpRateLimitCheck(options, 'rateLimitMiddleware');
  return function switchboardRateLimit(req, res, next) {
    check(req).then((outcome) => {
      if (outcome.allowed) {
        res.set(outcome.headers);
        next();
        return;
      }
      res.status(outcome.status).set(outcome.headers).json(outcome.body);
    }, next);
  };
}
