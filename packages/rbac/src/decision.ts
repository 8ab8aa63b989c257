import { type CompiledRole, findRule, parsePermission, type Rule } from './policy.ts';
import type { Grant } from './types.ts';

export interface CheckOptions<Resource = unknown> {
  /** e.g. `chat:42`. Without it only global grants apply. */
  scope?: string;
  /** What conditions look at (e.g. the message being edited). */
  resource?: Resource;
}

/** Why a check came out the way it did. */
export interface Explanation {
  allowed: boolean;
  permission: string;
  scope: string | undefined;
  /** The grant that allowed it: the role granted, and where. */
  grant?: Grant;
  /** The role (the granted one or one it inherits) whose definition holds the permission. */
  role?: string;
  /** The permission pattern that matched, e.g. `chat:*`. */
  pattern?: string;
  /** When a deny rule refused it: the grant through which it applies, its role and pattern. */
  denied?: { grant: Grant; role: string; pattern: string };
  reason: string;
}

/** A user's grants as the decisions read them: global roles, and roles per scope. */
export interface GrantIndex {
  global: string[];
  scoped: Map<string, string[]>;
}

/** Matches any rule: the cheap first pass of a check. */
const acceptAny = () => true;

/** What an explained evaluation found: the allowing grant and rule, the denying ones, or the first failed condition. */
export interface Trace {
  grant: Grant | undefined;
  rule: Rule | undefined;
  conditionFailed: Rule | undefined;
  deniedBy: { grant: Grant; rule: Rule } | undefined;
}

/**
 * The decision engine behind every check (`can`, `assert`, `canMany`, `forUser`, `explain`):
 * one evaluation, with an explanation recorded only when asked for.
 */
export function createDecisions(roles: ReadonlyMap<string, CompiledRole>) {
  // Decided once: a policy without deny rules checks exactly as before they existed.
  const hasDenies = [...roles.values()].some((role) => role.denies !== undefined);

  /**
   * Without `trace` it allocates nothing on the common path (an unconditional rule decides);
   * with one, it also records which grant and rule allowed the check, or the first condition
   * that failed.
   */
  const evaluate = (
    grants: GrantIndex,
    userId: string,
    permission: string,
    check: CheckOptions,
    trace?: Trace,
  ): boolean => {
    const [resource, action] = parsePermission(permission);
    if (hasDenies && isDenied(grants, permission, resource, action, check.scope, trace)) return false;
    if (rolesAllow(grants.global, null, userId, permission, resource, action, check, trace)) return true;
    const scope = check.scope;
    if (scope === undefined) return false;
    const scoped = grants.scoped.get(scope);
    return scoped !== undefined && rolesAllow(scoped, scope, userId, permission, resource, action, check, trace);
  };

  const rolesAllow = (
    granted: readonly string[],
    grantScope: string | null,
    userId: string,
    permission: string,
    resource: string,
    action: string,
    check: CheckOptions,
    trace: Trace | undefined,
  ): boolean => {
    for (let i = 0; i < granted.length; i++) {
      const role = roles.get(granted[i] as string);
      if (role === undefined) continue; // a grant of a role no longer defined grants nothing
      let rule = findRule(role, permission, resource, action, acceptAny);
      if (rule === undefined) continue;
      if (rule.when !== undefined) {
        rule = passingRule(role, userId, permission, resource, action, check, trace);
        if (rule === undefined) continue;
      }
      if (trace !== undefined) {
        trace.grant = { role: role.name, scope: grantScope };
        trace.rule = rule;
      }
      return true;
    }
    return false;
  };

  /** Whether a role granted globally or in `scope` denies the permission (recorded in `trace`). */
  const isDenied = (
    grants: GrantIndex,
    permission: string,
    resource: string,
    action: string,
    scope: string | undefined,
    trace: Trace | undefined,
  ): boolean => {
    return (
      rolesDeny(grants.global, null, permission, resource, action, trace) ||
      (scope !== undefined && rolesDeny(grants.scoped.get(scope), scope, permission, resource, action, trace))
    );
  };

  const rolesDeny = (
    granted: readonly string[] | undefined,
    grantScope: string | null,
    permission: string,
    resource: string,
    action: string,
    trace: Trace | undefined,
  ): boolean => {
    if (granted === undefined) return false;
    for (let i = 0; i < granted.length; i++) {
      const role = roles.get(granted[i] as string);
      if (role?.denies === undefined) continue;
      const rule = findRule(role.denies, permission, resource, action, acceptAny);
      if (rule === undefined) continue;
      if (trace !== undefined) trace.deniedBy = { grant: { role: role.name, scope: grantScope }, rule };
      return true;
    }
    return false;
  };

  /** A conditional rule matched first: evaluate conditions (rare path, allocations fine). */
  const passingRule = (
    role: CompiledRole,
    userId: string,
    permission: string,
    resource: string,
    action: string,
    check: CheckOptions,
    trace: Trace | undefined,
  ): Rule | undefined => {
    const context = { userId, scope: check.scope, resource: check.resource as never };
    return findRule(role, permission, resource, action, (candidate) => {
      if (candidate.when === undefined || candidate.when(context)) return true;
      if (trace !== undefined) trace.conditionFailed ??= candidate;
      return false;
    });
  };

  /** `evaluate` with its trace put into words: what `explain` answers. */
  const decide = (grants: GrantIndex, userId: string, permission: string, check: CheckOptions): Explanation => {
    const trace: Trace = { grant: undefined, rule: undefined, conditionFailed: undefined, deniedBy: undefined };
    const allowed = evaluate(grants, userId, permission, check, trace);
    const scope = check.scope;
    const { grant, rule, conditionFailed, deniedBy } = trace;
    if (deniedBy) {
      const { grant: by, rule: denial } = deniedBy;
      return {
        allowed: false,
        permission,
        scope,
        denied: { grant: by, role: denial.from, pattern: denial.pattern },
        reason: `role "${by.role}" granted ${by.scope === null ? 'globally' : `in ${by.scope}`}${denial.from === by.role ? '' : ` inherits "${denial.from}", which`} denies ${denial.pattern} (a deny wins over every allow)`,
      };
    }
    if (allowed && grant && rule) {
      return {
        allowed: true,
        permission,
        scope,
        grant,
        role: rule.from,
        pattern: rule.pattern,
        reason: `role "${grant.role}" granted ${grant.scope === null ? 'globally' : `in ${grant.scope}`}${rule.from === grant.role ? '' : ` inherits "${rule.from}", which`} holds ${rule.pattern}`,
      };
    }
    const hasAny = grants.global.length > 0 || (scope !== undefined && (grants.scoped.get(scope)?.length ?? 0) > 0);
    return {
      allowed: false,
      permission,
      scope,
      reason: conditionFailed
        ? `role "${conditionFailed.from}" holds ${conditionFailed.pattern} only under a condition the resource does not meet`
        : hasAny
          ? `no role granted to the user${scope ? ` globally or in ${scope}` : ' globally'} holds ${permission}`
          : `the user has no role${scope ? ` globally or in ${scope}` : ' globally'}`,
    };
  };

  return { evaluate, decide };
}
