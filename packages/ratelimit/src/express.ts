/**
 * @switchboard/ratelimit/express: a middleware that checks a limiter before the handler
 * (Express 5 and 4). A plain `(req, res, next)` function: nothing of Express is imported.
 * @packageDocumentation
 */
import { RATE_LIMIT_ERROR_TABLE } from './error-table.ts';
import { isRateLimitError } from './errors.ts';
import { rateLimitHeaders } from './headers.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** What the middleware calls on a response. */
export interface RateLimitMiddlewareResponse {
  status(code: number): RateLimitMiddlewareResponse;
  set(headers: Record<string, string>): RateLimitMiddlewareResponse;
  json(body: unknown): unknown;
}

export interface RateLimitMiddlewareOptions<Request> {
  limiter: RateLimiter;
  /**
   * Who is counted: e.g. `(req) => req.principal?.userId ?? ipKey(req.ip ?? '')` (see `ipKey`
   * for addresses, and Express's `trust proxy` setting for `req.ip` behind a proxy). Must return
   * a non-empty string; a key function that throws goes to `next(error)`.
   */
  key: (req: Request) => string;
  /** Units the request costs (a number, or from the request). @default 1 */
  cost?: number | ((req: Request) => number);
  /** The policy's name in the `RateLimit` / `RateLimit-Policy` headers. @default 'default' */
  policy?: string;
}

/**
 * Consumes from `limiter` for each request. Allowed: `RateLimit` / `RateLimit-Policy` headers
 * (IETF draft) on the response, then `next()`. Refused: 429 with those headers, `Retry-After`,
 * and a JSON body `{ error, code: 'RATE_LIMITED', retryAfterMs }`. A store failure the limiter's
 * `onStoreError` policy surfaces: its status from the package's error table (503). Anything else
 * goes to `next(error)`.
 *
 * @example
 * app.post('/messages', rateLimitMiddleware({ limiter, key: (req) => req.principal?.userId ?? ipKey(req.ip ?? '') }), send);
 */
// biome-ignore lint/suspicious/noExplicitAny: unannotated `key` / `cost` functions read Express's request as it is (`req.ip`, `req.principal`); annotate the parameter to check it
export function rateLimitMiddleware<Request = any>(
  options: RateLimitMiddlewareOptions<Request>,
): (req: Request, res: RateLimitMiddlewareResponse, next: (error?: unknown) => void) => void {
  const limiter = options?.limiter;
  if (typeof limiter?.consume !== 'function')
    throw new TypeError('rateLimitMiddleware: `limiter` must be a limiter from createRateLimiter');
  if (typeof options.key !== 'function')
    throw new TypeError('rateLimitMiddleware: `key` must be a function of the request');
  const cost = options.cost ?? 1;
  if (typeof cost !== 'function' && !(Number.isInteger(cost) && cost >= 1))
    throw new TypeError(`rateLimitMiddleware: \`cost\` must be a whole number >= 1 or a function, got ${cost}`);
  const headerOptions = {
    windowMs: limiter.algorithm.windowMs,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  };
  // Checked once here: a bad policy name fails at startup, not on a request.
  rateLimitHeaders({ allowed: true, limit: 1, remaining: 1, resetMs: 0, retryAfterMs: 0 }, headerOptions);
  return function switchboardRateLimit(req, res, next) {
    let key: string;
    let units: number;
    try {
      key = options.key(req);
      units = typeof cost === 'function' ? cost(req) : cost;
      if (typeof key !== 'string' || key.length === 0)
        throw new TypeError(`rateLimitMiddleware: key(req) must return a non-empty string, got ${JSON.stringify(key)}`);
    } catch (error) {
      next(error);
      return;
    }
    limiter.consume(key, { cost: units }).then(
      (result) => {
        const headers = rateLimitHeaders(result, headerOptions);
        if (result.allowed) {
          res.set(headers);
          next();
          return;
        }
        res
          .status(RATE_LIMIT_ERROR_TABLE.RATE_LIMITED.status)
          .set(headers)
          .json({
            error: `Too many requests; retry in ${Math.max(1, Math.ceil(result.retryAfterMs / 1000))} s`,
            code: 'RATE_LIMITED',
            retryAfterMs: result.retryAfterMs,
          });
      },
      (error: unknown) => {
        if (!isRateLimitError(error)) {
          next(error);
          return;
        }
        const mapping = RATE_LIMIT_ERROR_TABLE[error.code];
        res.status(mapping.status).json({ error: error.message, code: mapping.graphqlCode });
      },
    );
  };
}
