import { Inject } from '@nestjs/common';

// String tokens, namespaced: two copies of this package (a dual install) still meet on them.
/** The options `SwitchboardModule.forRoot` / `forRootAsync` resolved to. */
export const SWITCHBOARD_OPTIONS = '@switchboard/nestjs:options';
/** The auth instance (`createAuth`), for `@Inject(SWITCHBOARD_AUTH)` or `@InjectAuth()`. */
export const SWITCHBOARD_AUTH = '@switchboard/nestjs:auth';
/** The rbac instance (`createRbac`), for `@Inject(SWITCHBOARD_RBAC)` or `@InjectRbac()`; `null` when none was given. */
export const SWITCHBOARD_RBAC = '@switchboard/nestjs:rbac';
/** The rate-limit store the `@RateLimit` counters live in. */
export const SWITCHBOARD_RATE_LIMIT_STORE = '@switchboard/nestjs:rate-limit-store';
/** Internal: what the guards share (options, the store, one limiter per decorated handler). */
export const SWITCHBOARD_RUNTIME = '@switchboard/nestjs:runtime';

/** Injects the auth instance given to `SwitchboardModule`. */
export const InjectAuth = (): ParameterDecorator => Inject(SWITCHBOARD_AUTH);
/** Injects the rbac instance given to `SwitchboardModule`. */
export const InjectRbac = (): ParameterDecorator => Inject(SWITCHBOARD_RBAC);
