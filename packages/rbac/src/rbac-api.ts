import type { AuditContext, AuditEntry, AuditPage, AuditQuery } from './audit.ts';
import type { CheckOptions, Explanation } from './decision.ts';
import type { Conditions, RoleDefinitions } from './policy.ts';
import type { DeleteRoleOptions, RoleChangeOptions, RoleInfo } from './policy-runtime.ts';
import type { StoredRoleInput } from './stored-policy.ts';
import type { Telemetry } from './telemetry.ts';
import type { GrantStore, PolicyStore, RbacBus, StoredRole } from './types.ts';

// The public shape of an rbac instance and its options; `createRbac` (rbac.ts) builds one.

export interface RbacCacheOptions {
  /** How long a user's grants are trusted without reloading: the safety net behind the bus. @default 30000 */
  ttlMs?: number;
  /** Most users whose grants are kept. @default 10000 */
  maxUsers?: number;
  /**
   * Carries grant/revoke (and, with a policy store, policy versions) to other instances; without
   * it, they learn within `ttlMs` (and `policyPollMs`).
   */
  bus?: RbacBus;
}

export interface RbacOptions {
  /** Roles defined in code: read-only at runtime. With `policyStore`, optional. */
  roles?: RoleDefinitions;
  /**
   * Roles kept as data and editable at runtime (`defineRole`, `updateRole`, `deleteRole`):
   * `createPostgresPolicyStore` from `@switchboard/rbac/postgres`, or `createMemoryPolicyStore`.
   * Compiled together with `roles` (a stored role may inherit a code role, and the reverse);
   * loaded by `createRbac`, then kept current through the bus and `policyPollMs`.
   */
  policyStore?: PolicyStore;
  /**
   * How often the stored policy's version is polled: the bus tells instances of a change at once,
   * but pub/sub loses what is sent while a subscriber reconnects (a Redis failover), so a lost
   * message costs at most this long. `false` to rely on the bus alone. @default 5000
   */
  policyPollMs?: number | false;
  /**
   * Hears what goes wrong in the background: a stored policy that does not compile (the one in
   * force stays), a failed poll or reload. @default process.emitWarning
   */
  onPolicyError?: (error: unknown) => void;
  /**
   * Conditions by name, for permissions that refer to one (`{ permission: 'message:edit',
   * condition: 'ownMessage' }`) instead of carrying a function: the form a policy kept as data
   * uses. An unknown name fails `createRbac` with `InvalidPolicyError`.
   * @default {}
   */
  conditions?: Conditions;
  /** @default createMemoryGrantStore() */
  store?: GrantStore;
  /** `false` to load grants on every check. @default {} (30 s TTL, no bus) */
  cache?: RbacCacheOptions | false;
  /**
   * OpenTelemetry: every check (`can`, `assert`, `canMany`, `forUser` checks) adds one to the
   * counter `switchboard.rbac.decisions` (attributes `switchboard.rbac.decision`: `allowed` /
   * `denied`, and `switchboard.rbac.permission`; never a user, scope or resource), and grant
   * loads and changes run in spans (`switchboard.rbac.load_grants`, `switchboard.rbac.grant`,
   * `switchboard.rbac.revoke`, `switchboard.rbac.revoke_scope`); checks answered from the cache make no span. `true` for the
   * global `@opentelemetry/api` (an optional peer dependency), or the API object.
   * @default false (no telemetry code runs)
   */
  telemetry?: Telemetry;
}

export interface Rbac {
  /** Grants a role, globally or in `scope`; recorded in the audit trail with `actor`. */
  grant(userId: string, role: string, scope?: string, context?: AuditContext): Promise<void>;
  revoke(userId: string, role: string, scope?: string, context?: AuditContext): Promise<void>;
  /**
   * Revokes every grant the user holds in `scope` (e.g. removed from a chat), whatever the
   * roles: one store call, not a loop over the roles the code knows. Global grants stay.
   */
  revokeScope(userId: string, scope: string, context?: AuditContext): Promise<void>;
  /**
   * Adds a role to the stored policy (needs `policyStore`). The whole policy is compiled with it
   * first: an unknown inherited role, a cycle, a malformed permission or an unknown condition is
   * an `InvalidPolicyError` and nothing is written; an existing role is a `PolicyConflictError`.
   * In force here when it resolves, on other instances within a second (the bus) or a poll.
   */
  defineRole(name: string, definition: StoredRoleInput, context?: AuditContext): Promise<StoredRole>;
  /**
   * Replaces the given fields of a stored role (validated as `defineRole`). With
   * `expectedVersion`, a role changed since (its version moved) is a `PolicyConflictError`;
   * without, the last writer wins (both writes are in the audit trail).
   */
  updateRole(name: string, changes: StoredRoleInput, options?: RoleChangeOptions): Promise<StoredRole>;
  /**
   * Removes a stored role. Refused (`PolicyConflictError`) while anyone holds it, unless
   * `cascade` (then every grant of it is revoked, each recorded); refused (`InvalidPolicyError`)
   * while another role inherits it.
   */
  deleteRole(name: string, options?: DeleteRoleOptions): Promise<void>;
  /** The roles in force: code ones, then stored ones with their versions. */
  listRoles(): Promise<RoleInfo[]>;
  /** The audit trail, newest first, in keyset pages (read from the grant store). */
  auditLog(query?: AuditQuery): Promise<AuditPage>;
  /** Records an action of the application's own in the audit trail (e.g. a platform admin's read). */
  recordAudit(entry: AuditEntry): Promise<void>;
  can(userId: string, permission: string, options?: CheckOptions): Promise<boolean>;
  /** Like `can`, but a denial throws `ForbiddenError` (`code: 'FORBIDDEN'`). */
  assert(userId: string, permission: string, options?: CheckOptions): Promise<void>;
  explain(userId: string, permission: string, options?: CheckOptions): Promise<Explanation>;
  /** Several checks for one user with one grant lookup. */
  canMany(userId: string, checks: readonly ({ permission: string } & CheckOptions)[]): Promise<boolean[]>;
  /** Roles granted to the user globally, plus those granted in `scope`. */
  rolesOf(userId: string, scope?: string): Promise<string[]>;
  /**
   * Where the user holds `permission` unconditionally, as ids of scopes of `kind` (`chat:42` →
   * `42`), or `'*'` when a global grant holds it: for filtering a list query in SQL. Conditional
   * rules are left out (they depend on each row). Deny rules are applied: a global deny gives
   * `[]`; a global allow with denies in some scopes gives `{ except: [ids] }` (every scope of
   * `kind` but those).
   */
  scopesWith(userId: string, permission: string, kind: string): Promise<'*' | string[] | { except: string[] }>;
  /**
   * The user's grants, loaded once, for many synchronous checks: one per request (a resolver
   * filtering a list, a GraphQL operation with several guards), like an ability object. A
   * snapshot: a grant or revoke after it was taken is seen by the next `forUser`, not this one.
   */
  forUser(userId: string): Promise<UserPermissions>;
  /**
   * Forgets the user's cached grants, here at once and on other instances through the bus. For
   * grants changed outside `grant`/`revoke`: e.g. with a grant store bound to a database
   * transaction (so a chat and its owner's grant commit together), once that transaction has
   * committed.
   */
  invalidate(userId: string): Promise<void>;
  /** Stops listening to the bus and the cache's clock (call it when you are done with the instance). */
  close(): void;
}

/** A user's grants at one moment; every check is synchronous. See `rbac.forUser`. */
export interface UserPermissions {
  readonly userId: string;
  can(permission: string, options?: CheckOptions): boolean;
  /** Like `can`, but a denial throws `ForbiddenError` (`code: 'FORBIDDEN'`). */
  assert(permission: string, options?: CheckOptions): void;
  /** Roles granted globally, plus those granted in `scope`. */
  rolesOf(scope?: string): string[];
}
