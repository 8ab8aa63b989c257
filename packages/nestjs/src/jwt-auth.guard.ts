import {
  type CanActivate,
  type CustomDecorator,
  type ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { authenticateHttpRequest } from '@switchboard/auth';
import { authHeadersOf, callSiteOf, setPrincipal } from './call-site.ts';
import { clientErrorFromRefusal } from './error-mapping.ts';
import type { SwitchboardModuleOptions } from './options.ts';
import { refuse } from './refuse.ts';
import { SWITCHBOARD_OPTIONS } from './tokens.ts';

const PUBLIC = '@switchboard/nestjs:public';

/**
 * Lets a handler (or every handler of a class) through `JwtAuthGuard` without a token, so the
 * guard can be registered for the whole application (`APP_GUARD`). A valid token still sets the
 * principal; a missing or bad one leaves it `null` and refuses nothing.
 */
export const Public = (): CustomDecorator<string> => SetMetadata(PUBLIC, true);

/**
 * Bearer token → principal on the request (`@CurrentUser()` reads it). Without a valid token:
 * 401 with `WWW-Authenticate` and `{ error, code: 'UNAUTHENTICATED', reason }` over HTTP,
 * `UNAUTHENTICATED` over GraphQL (from `@switchboard/auth`'s error table). Over graphql-ws it
 * reads `connectionParams.authorization`, on every operation (an expired token stops new ones).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    @Inject(SWITCHBOARD_OPTIONS) private readonly options: SwitchboardModuleOptions,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const site = callSiteOf(context);
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    const outcome = await authenticateHttpRequest(authHeadersOf(site), {
      auth: this.options.auth,
      optional: isPublic === true,
    });
    if (outcome.ok) {
      setPrincipal(site, outcome.principal);
      return true;
    }
    if (isPublic) {
      setPrincipal(site, null);
      return true;
    }
    refuse(site, clientErrorFromRefusal(outcome));
  }
}
