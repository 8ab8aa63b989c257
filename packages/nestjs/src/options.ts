import type { RequestVerifier } from '@switchboard/auth';
import type { RateLimitStore } from '@switchboard/ratelimit';
import { checkTrustProxy, type TrustProxy } from './client-ip.ts';

/** What `PermissionGuard` needs of an rbac instance (`createRbac` returns one). */
export interface PermissionChecker {
  assert(userId: string, permission: string, options?: { scope?: string }): Promise<void>;
}

/** What `SwitchboardModule.forRoot` takes, or `forRootAsync`'s factory returns. */
export interface SwitchboardModuleOptions {
  /** The instance `createAuth` returned (only `verifyAccessToken` is used by the guards). */
  auth: RequestVerifier;
  /** The instance `createRbac` returned; needed by `PermissionGuard`. */
  rbac?: PermissionChecker;
  /**
   * Where `@RateLimit` counts: a Redis store for several instances. @default a memory store
   * (one process; closed with the application)
   */
  rateLimitStore?: RateLimitStore;
  /**
   * How `@RateLimit({ key: 'ip' })` finds the client's address: `false` the socket's peer (no
   * proxy in front), a number the hops of proxies you run (the address the outermost of them
   * saw, from `X-Forwarded-For`), `true` the leftmost `X-Forwarded-For` address (only when your
   * proxy overwrites the header). @default false
   */
  trustProxy?: TrustProxy;
  /**
   * Register `SwitchboardExceptionFilter` for the whole application (`APP_FILTER`).
   * @default true
   */
  exceptionFilter?: boolean;
}

/** Checks options once, at startup: misuse is a `TypeError` naming the option. */
export function checkModuleOptions(options: SwitchboardModuleOptions): SwitchboardModuleOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError('SwitchboardModule: options must be an object { auth, rbac?, rateLimitStore?, trustProxy? }');
  if (typeof options.auth?.verifyAccessToken !== 'function')
    throw new TypeError('SwitchboardModule: `auth` must be the instance createAuth returned');
  if (options.rbac !== undefined && typeof options.rbac?.assert !== 'function')
    throw new TypeError('SwitchboardModule: `rbac` must be the instance createRbac returned');
  if (options.rateLimitStore !== undefined && typeof options.rateLimitStore?.evaluate !== 'function')
    throw new TypeError('SwitchboardModule: `rateLimitStore` must be a @switchboard/ratelimit store');
  checkTrustProxy(options.trustProxy);
  if (options.exceptionFilter !== undefined && typeof options.exceptionFilter !== 'boolean')
    throw new TypeError('SwitchboardModule: `exceptionFilter` must be a boolean');
  return options;
}
