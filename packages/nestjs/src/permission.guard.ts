import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthError, authErrorResponse } from '@switchboard/auth';
import { callSiteOf, principalOf } from './call-site.ts';
import { clientErrorFor, clientErrorFromRefusal } from './error-mapping.ts';
import type { PermissionChecker, SwitchboardModuleOptions } from './options.ts';
import { badUserInput, refuse } from './refuse.ts';
import { parseScopeTemplate, resolveScope, type ScopeTemplate } from './scope-template.ts';
import { SWITCHBOARD_OPTIONS } from './tokens.ts';

const REQUIRED = '@switchboard/nestjs:permission';

interface Requirement {
  permission: string;
  scope: ScopeTemplate | undefined;
}

export interface RequirePermissionOptions {
  /**
   * The scope the permission is checked in, with the source of each value spelled out:
   * `'chat:{params.chatId}'`, `'chat:{query.chatId}'`, `'chat:{body.chatId}'` (HTTP routes),
   * `'chat:{args.chatId}'`, `'chat:{args.input.chatId}'` (resolvers). Without it the permission
   * must be held globally.
   */
  scope?: string;
}

/**
 * The permission `PermissionGuard` checks for this handler (or every handler of the class).
 * A bad template fails here, when the application starts.
 *
 * @example
 * @RequirePermission('message:send', { scope: 'chat:{args.input.chatId}' })
 */
export function RequirePermission(
  permission: string,
  options: RequirePermissionOptions = {},
): MethodDecorator & ClassDecorator {
  if (typeof permission !== 'string' || permission.length === 0)
    throw new TypeError(`RequirePermission: permission must be a non-empty string, got ${JSON.stringify(permission)}`);
  const requirement: Requirement = {
    permission,
    scope: options.scope === undefined ? undefined : parseScopeTemplate(options.scope),
  };
  return SetMetadata(REQUIRED, requirement);
}

/**
 * Checks `@RequirePermission` with the module's rbac instance, for the principal `JwtAuthGuard`
 * set (list it after that guard). 403 / `FORBIDDEN` when the permission is not held (from
 * `@switchboard/rbac`'s error table), 401 without a principal, 400 / `BAD_USER_INPUT` when a
 * value the scope names is missing or is not an id. Handlers without the decorator pass.
 */
@Injectable()
export class PermissionGuard implements CanActivate {
  private readonly rbac: PermissionChecker | undefined;

  constructor(
    @Inject(SWITCHBOARD_OPTIONS) options: SwitchboardModuleOptions,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {
    this.rbac = options.rbac;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<Requirement | undefined>(REQUIRED, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (requirement === undefined) return true;
    if (this.rbac === undefined)
      throw new TypeError('PermissionGuard: pass `rbac` (the instance createRbac returned) to SwitchboardModule');
    const site = callSiteOf(context);
    const principal = principalOf(site);
    if (principal === undefined)
      throw new TypeError(
        'PermissionGuard: no JwtAuthGuard ran before it; use @UseGuards(JwtAuthGuard, PermissionGuard)',
      );
    if (principal === null) {
      const response = authErrorResponse(new AuthError('UNAUTHENTICATED', 'authentication required'));
      refuse(site, clientErrorFromRefusal({ ...response, body: { error: response.message, ...response.extensions } }));
    }
    let scope: string | undefined;
    if (requirement.scope !== undefined) {
      const resolved = resolveScope(requirement.scope, site);
      if (!resolved.ok) refuse(site, clientErrorFromRefusal(badUserInput(resolved.message)));
      scope = resolved.scope;
    }
    try {
      await this.rbac.assert(principal.userId, requirement.permission, scope === undefined ? {} : { scope });
    } catch (error) {
      const mapped = clientErrorFor(error);
      if (mapped === undefined) throw error;
      refuse(site, mapped);
    }
    return true;
  }
}
