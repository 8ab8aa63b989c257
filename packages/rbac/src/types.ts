import type { AuditContext, AuditEntry, AuditPage, AuditQuery } from './audit.ts';

/** A role granted to a user globally (`scope: null`) or within one scope (e.g. `chat:42`). */
export interface Grant {
  role: string;
  scope: string | null;
}

/**
 * Where grants live, and their audit trail: every change is recorded (with the context's actor)
 * in the same step as the change, so a grant written through a store bound to a transaction is
 * audited in that transaction. Role definitions live in code or in a {@link PolicyStore}.
 */
export interface GrantStore {
  /** Grants (idempotent: granting a held role changes and records nothing). */
  grant(userId: string, role: string, scope: string | null, context?: AuditContext): Promise<void>;
  /** Revokes one grant (recorded when there was one). */
  revoke(userId: string, role: string, scope: string | null, context?: AuditContext): Promise<void>;
  /**
   * Removes every grant the user holds in `scope` (whatever the role: a role the code does not
   * know of, defined at runtime, included), in one step, one `revoke` record per grant removed;
   * global grants and other scopes stay.
   */
  revokeScope(userId: string, scope: string, context?: AuditContext): Promise<void>;
  grantsOf(userId: string): Promise<Grant[]>;
  /** How many grants of `role` exist, in any scope: `deleteRole` refuses a granted role. */
  countGrants(role: string): Promise<number>;
  /** Revokes every grant of `role` (a cascading `deleteRole`), each recorded; answers the users who lost one. */
  revokeRole(role: string, context?: AuditContext): Promise<string[]>;
  /** Records an application's own action (e.g. a platform admin reading a chat they are not in). */
  recordAudit(entry: AuditEntry): Promise<void>;
  /** The audit trail, newest first (grants and, when the policy store shares it, policy changes). */
  auditLog(query?: AuditQuery): Promise<AuditPage>;
}

/** A role as a policy store keeps it: data only (conditions by name, never functions). */
export interface StoredRoleDefinition {
  permissions: (string | { permission: string; condition: string })[];
  inherits: string[];
  deny: string[];
}

/** A role kept in a policy store, with its version (1 when defined, +1 per update). */
export interface StoredRole {
  name: string;
  definition: StoredRoleDefinition;
  version: number;
}

/** The whole stored policy at one version (the version goes up by one per change, from 0). */
export interface PolicySnapshot {
  version: number;
  roles: StoredRole[];
}

/** One role change, as `createRbac` hands it to a policy store once validated. */
export interface PolicyWrite {
  action: 'role.define' | 'role.update' | 'role.delete';
  role: string;
  /** The role now (`null` when defining). */
  before: StoredRole | null;
  /** The role after (`null` when deleting); its version is `before.version + 1`, or 1. */
  after: StoredRole | null;
  context: AuditContext;
}

/**
 * Where runtime-editable roles live. Writes are optimistic over the whole policy: `createRbac`
 * loads a snapshot, validates the change against it (every role compiled together), and writes
 * it only if the policy is still at that snapshot's version; otherwise it reloads and tries
 * again. So a change is always validated against the policy it lands on, and no update is lost.
 */
export interface PolicyStore {
  load(): Promise<PolicySnapshot>;
  /** The policy version alone: what instances poll. */
  version(): Promise<number>;
  /**
   * Writes the change, bumps the policy version and appends the audit record in one atomic
   * step, if the policy is still at `basedOn`. Answers the new policy version, or `null` when
   * another change landed first (nothing written).
   */
  write(change: PolicyWrite, basedOn: number): Promise<number | null>;
}

/**
 * What every store's `revokeScope` refuses: a scope that is not a non-empty string. It names
 * one scope; the Postgres store keeps global grants under `''`, so an empty one would revoke them.
 */
export function checkRevokedScope(scope: unknown): void {
  if (typeof scope !== 'string' || scope.length === 0)
    throw new TypeError(`revokeScope: scope must be a non-empty "type:id", got ${JSON.stringify(scope)}`);
}

/**
 * Tells other instances that a user's grants changed, or that the stored policy did (Redis
 * pub/sub, or in-process).
 */
export interface RbacBus {
  publish(userId: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(handler: (userId: string) => void): () => void;
  /**
   * Announces a new policy version. Optional for buses written before policies were data:
   * without it, instances learn of policy changes by polling (`policyPollMs`).
   */
  publishPolicy?(version: number): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribePolicy?(handler: (version: number) => void): () => void;
}
