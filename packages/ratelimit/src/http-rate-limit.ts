/**
 * The one way the HTTP adapters (Express, Fastify, NestJS) check a limiter for a request: key
 * and cost from the request, one `consume`, and the headers and refusal to answer with, taken
 * from the error table. Each adapter only moves the outcome onto its framework's objects.
 */
import { rateLimitErrorResponse } from './error-table.ts';
import { isRateLimitError, type RateLimitError, type RateLimitErrorCode, RateLimitedError } from './errors.ts';
import { rateLimitHeaders } from './headers.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { RateLimitResult } from './types.ts';

export interface HttpRateLimitOptions<Request> {
  limiter: RateLimiter;
  /**
   * Who is counted, e.g. `(req) => req.principal?.userId ?? ipKey(req.ip)` (see `ipKey` for
   * addresses, and the framework's trust-proxy setting for `req.ip` behind a proxy). Must return
   * a non-empty string; a key function that throws goes to the framework's error handling.
   */
  key: (req: Request) => string;
  /** Units the request costs (a number, or from the request). @default 1 */
  cost?: number | ((req: Request) => number);
  /** The policy's name in the `RateLimit` / `RateLimit-Policy` headers. @default 'default' */
  policy?: string;
}

/** The JSON body of a refusal: `{ error, code: 'RATE_LIMITED', retryAfterMs }`, or a store failure's code. */
export interface RateLimitRefusalBody {
  error: string;
  code: RateLimitErrorCode;
  retryAfterMs?: number;
}

/**
 * Allowed (the headers go on the response), refused past the limit (429), or refused because
 * the limiter's `onStoreError` policy surfaced a store failure (503; `result` absent).
 */
export type HttpRateLimitOutcome =
  | { readonly allowed: true; readonly headers: Record<string, string>; readonly result: RateLimitResult }
  | {
      readonly allowed: false;
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly body: RateLimitRefusalBody;
      readonly result?: RateLimitResult;
      readonly error?: RateLimitError;
    };

/**
 * Checks the options once (a `TypeError` naming `adapter`, at startup rather than on a request)
 * and returns the per-request check. It rejects for a key or cost function that throws or
 * returns nonsense, and for errors that are not rate-limit errors.
 */
export function createHttpRateLimitCheck<Request>(
  options: HttpRateLimitOptions<Request>,
  adapter: string,
): (req: Request) => Promise<HttpRateLimitOutcome> {
  const limiter = options?.limiter;
  if (typeof limiter?.consume !== 'function')
    throw new TypeError(`${adapter}: \`limiter\` must be a limiter from createRateLimiter`);
  if (typeof options.key !== 'function') throw new TypeError(`${adapter}: \`key\` must be a function of the request`);
  const cost = options.cost ?? 1;
  if (typeof cost !== 'function' && !(Number.isInteger(cost) && cost >= 1))
    throw new TypeError(`${adapter}: \`cost\` must be a whole number >= 1 or a function, got ${cost}`);
  const headerOptions = {
    windowMs: limiter.algorithm.windowMs,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  };
  // Checked once here: a bad policy name fails at startup, not on a request.
  rateLimitHeaders({ allowed: true, limit: 1, remaining: 1, resetMs: 0, retryAfterMs: 0 }, headerOptions);
  const keyOf = options.key;
  return async (req) => {
    const key = keyOf(req);
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError(`${adapter}: key(req) must return a non-empty string, got ${JSON.stringify(key)}`);
    const units = typeof cost === 'function' ? cost(req) : cost;
    let result: RateLimitResult;
    try {
      result = await limiter.consume(key, { cost: units });
    } catch (error) {
      if (!isRateLimitError(error)) throw error;
      const { status, headers, message, extensions } = rateLimitErrorResponse(error);
      return { allowed: false, status, headers, body: { error: message, ...extensions }, error };
    }
    const headers = rateLimitHeaders(result, headerOptions);
    if (result.allowed) return { allowed: true, headers, result };
    const refusal = rateLimitErrorResponse(
      new RateLimitedError({ retryAfterMs: result.retryAfterMs, limit: result.limit }),
    );
    return {
      allowed: false,
      status: refusal.status,
      headers: { ...headers, ...refusal.headers },
      body: { error: refusal.message, ...refusal.extensions },
      result,
    };
  };
}
