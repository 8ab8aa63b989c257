import type { RateLimitResult } from './types.ts';

export interface RateLimitHeaderOptions {
  /** The policy's name in the headers. @default 'default' */
  policy?: string;
  /** The policy window in ms (e.g. `limiter.algorithm.windowMs`). */
  windowMs: number;
}

/**
 * HTTP headers for a result, per the IETF RateLimit header fields draft:
 * `RateLimit-Policy: "default";q=100;w=60`, `RateLimit: "default";r=42;t=12`, and
 * `Retry-After` (whole seconds, rounded up) when refused.
 *
 * @example
 * for (const [name, value] of Object.entries(rateLimitHeaders(result, { windowMs: 60_000 }))) res.setHeader(name, value);
 */
export function rateLimitHeaders(result: RateLimitResult, options: RateLimitHeaderOptions): Record<string, string> {
  if (typeof options !== 'object' || options === null || !(Number.isFinite(options.windowMs) && options.windowMs > 0)) {
    throw new TypeError(
      'rateLimitHeaders(result, { windowMs }) needs the policy window in ms, e.g. { windowMs: limiter.algorithm.windowMs }',
    );
  }
  const policy = quote(options.policy ?? 'default');
  const headers: Record<string, string> = {
    'RateLimit-Policy': `${policy};q=${result.limit};w=${Math.max(1, Math.ceil(options.windowMs / 1000))}`,
    RateLimit: `${policy};r=${Math.max(0, result.remaining)};t=${Math.ceil(Math.max(0, result.resetMs) / 1000)}`,
  };
  if (!result.allowed) headers['Retry-After'] = String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  return headers;
}

function quote(name: string): string {
  // A structured-field string: only printable ASCII, with '"' and '\\' escaped.
  if (!/^[\x20-\x7e]*$/.test(name))
    throw new TypeError(`policy name must be printable ASCII, got ${JSON.stringify(name)}`);
  return `"${name.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}
