import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Principal } from '@switchboard/auth';
import { callSiteOf, principalOf } from './call-site.ts';

/**
 * The principal `JwtAuthGuard` set (`null` on a `@Public()` handler without a valid token), in
 * controllers and resolvers; `@CurrentUser('userId')` gives one field of it.
 *
 * @example
 * @Get('me') me(@CurrentUser() user: Principal) { return { id: user.userId }; }
 */
export const CurrentUser: (field?: keyof Principal) => ParameterDecorator = createParamDecorator(
  (field: keyof Principal | undefined, context: ExecutionContext) => {
    const principal = principalOf(callSiteOf(context)) ?? null;
    return field === undefined ? principal : (principal?.[field] ?? null);
  },
);
