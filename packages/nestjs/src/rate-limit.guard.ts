import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Algorithm, HttpRateLimitOutcome } from '@switchboard/ratelimit';
import { addressSourcesOf, callSiteOf, principalOf, setResponseHeaders } from './call-site.ts';
import { clientAddress } from './client-ip.ts';
import { clientErrorFromRefusal } from './error-mapping.ts';
import { refuse } from './refuse.ts';
import type { SwitchboardRuntime } from './runtime.ts';
import { SWITCHBOARD_RUNTIME } from './tokens.ts';

const RULE = '@switchboard/nestjs:rate-limit';

export interface RateLimitOptions {
  /** From `@switchboard/ratelimit`: `fixedWindow({ limit: 30, windowMs: 60_000 })`, `tokenBucket(…)`, … */
  algorithm: Algorithm;
  /**
   * Who is counted. `'user'`: the principal (`JwtAuthGuard` before this guard), and the client's
   * address for anonymous calls; `'ip'`: the client's address (see the module's `trustProxy`),
   * through `ipKey` (an IPv6 client counts per /56); or a function of the call.
   */
  key: 'user' | 'ip' | ((context: ExecutionContext) => string);
  /** Units a call costs. @default 1 */
  cost?: number | ((context: ExecutionContext) => number);
  /**
   * The counters' namespace. @default `<class name>.<method name>`, so each decorated handler
   * counts on its own; give two handlers one prefix to share a budget.
   */
  prefix?: string;
}

interface Rule extends Required<Pick<RateLimitOptions, 'algorithm' | 'key' | 'prefix'>> {
  cost: RateLimitOptions['cost'];
}

/**
 * A rate limit on a handler, checked by `RateLimitGuard`. Misuse fails here, at startup.
 *
 * @example
 * @RateLimit({ algorithm: fixedWindow({ limit: 30, windowMs: 60_000 }), key: 'user' })
 */
export function RateLimit(options: RateLimitOptions): MethodDecorator {
  const algorithm = options?.algorithm;
  if (typeof algorithm?.step !== 'function' || !(algorithm.windowMs > 0))
    throw new TypeError('RateLimit: `algorithm` must come from @switchboard/ratelimit (fixedWindow, tokenBucket, …)');
  const { key, cost, prefix } = options;
  if (key !== 'user' && key !== 'ip' && typeof key !== 'function')
    throw new TypeError(`RateLimit: \`key\` must be 'user', 'ip' or a function of the call, got ${String(key)}`);
  if (cost !== undefined && typeof cost !== 'function' && !(Number.isInteger(cost) && cost >= 1))
    throw new TypeError(`RateLimit: \`cost\` must be a whole number >= 1 or a function, got ${String(cost)}`);
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0))
    throw new TypeError('RateLimit: `prefix` must be a non-empty string');
  return (target, propertyKey, descriptor) => {
    const owner = typeof target === 'function' ? target.name : target.constructor.name;
    const rule: Rule = { algorithm, key, cost, prefix: prefix ?? `${owner}.${String(propertyKey)}` };
    SetMetadata(RULE, rule)(target, propertyKey, descriptor);
  };
}

type Check = (context: ExecutionContext) => Promise<HttpRateLimitOutcome>;

/**
 * Checks `@RateLimit` in the module's store: each decorated handler has its own limiter (made on
 * its first call). Over HTTP, `RateLimit` / `RateLimit-Policy` headers on every answer and 429 +
 * `Retry-After` + `{ error, code: 'RATE_LIMITED', retryAfterMs }` past the limit; over GraphQL,
 * `RATE_LIMITED` with `retryAfterMs` in the extensions. Handlers without the decorator pass.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly checks = new Map<string, Check>();

  constructor(
    @Inject(SWITCHBOARD_RUNTIME) private readonly runtime: SwitchboardRuntime,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.get<Rule | undefined>(RULE, context.getHandler());
    if (rule === undefined) return true;
    const outcome = await this.checkFor(rule)(context);
    const site = callSiteOf(context);
    if (outcome.allowed) {
      if (site.kind === 'http') setResponseHeaders(site.response, outcome.headers);
      return true;
    }
    refuse(site, clientErrorFromRefusal(outcome));
  }

  private checkFor(rule: Rule): Check {
    // By prefix: handlers sharing one share the limiter (and a re-decorated handler reuses it).
    const known = this.checks.get(rule.prefix);
    if (known) return known;
    const { ratelimit, rateLimitStore, options } = this.runtime;
    if (ratelimit === undefined || rateLimitStore === undefined)
      throw new TypeError('RateLimitGuard needs @switchboard/ratelimit: npm install @switchboard/ratelimit');
    const limiter = ratelimit.createRateLimiter({
      store: rateLimitStore,
      algorithm: rule.algorithm,
      prefix: rule.prefix,
    });
    const address = (context: ExecutionContext) => {
      const { peer, forwardedFor } = addressSourcesOf(callSiteOf(context));
      return `ip:${ratelimit.ipKey(clientAddress(peer, forwardedFor, options.trustProxy))}`;
    };
    const key =
      rule.key === 'ip'
        ? address
        : rule.key === 'user'
          ? (context: ExecutionContext) => {
              const principal = principalOf(callSiteOf(context));
              return principal ? `user:${principal.userId}` : address(context);
            }
          : rule.key;
    const check = ratelimit.createHttpRateLimitCheck<ExecutionContext>(
      { limiter, key, ...(rule.cost === undefined ? {} : { cost: rule.cost }) },
      `RateLimit(${rule.prefix})`,
    );
    this.checks.set(rule.prefix, check);
    return check;
  }
}
