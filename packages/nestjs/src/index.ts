/**
 * @switchboard/nestjs: the Switchboard suite in a NestJS application (11 and 12, Express and
 * Fastify platforms, REST and GraphQL): a global module, guards, decorators, a pipe and one
 * exception filter over the packages' error tables.
 * @packageDocumentation
 */
export type { CallSite } from './call-site.ts';
export { clientAddress, type TrustProxy } from './client-ip.ts';
export { CurrentUser } from './current-user.ts';
export { SwitchboardExceptionFilter } from './exception-filter.ts';
export { graphqlWsAuth, type WsConnectContext } from './graphql-ws.ts';
export { JwtAuthGuard, Public } from './jwt-auth.guard.ts';
export { type AsyncModuleOptions, SwitchboardModule, type SwitchboardModuleAsyncOptions } from './module.ts';
export type { PermissionChecker, SwitchboardModuleOptions } from './options.ts';
export { PermissionGuard, RequirePermission, type RequirePermissionOptions } from './permission.guard.ts';
export { RateLimit, RateLimitGuard, type RateLimitOptions } from './rate-limit.guard.ts';
export { parseScopeTemplate, type ScopeSource } from './scope-template.ts';
export {
  InjectAuth,
  InjectRbac,
  SWITCHBOARD_AUTH,
  SWITCHBOARD_OPTIONS,
  SWITCHBOARD_RATE_LIMIT_STORE,
  SWITCHBOARD_RBAC,
} from './tokens.ts';
export { ValibotPipe, type ValibotSchema } from './valibot.pipe.ts';
