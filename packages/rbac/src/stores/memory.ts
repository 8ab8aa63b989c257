import {
  type AuditContext,
  type AuditEntry,
  checkAuditEntry,
  createMemoryAuditLog,
  type MemoryAuditLog,
} from '../audit.ts';
import {
  checkRevokedScope,
  type Grant,
  type GrantStore,
  type PolicySnapshot,
  type PolicyStore,
  type RbacBus,
  type StoredRole,
} from '../types.ts';

export interface MemoryStoreOptions {
  /**
   * Where changes are recorded. Give the grant store and the policy store the same one for one
   * trail. @default a log of this store's own
   */
  auditLog?: MemoryAuditLog;
}

/** The audit fields of a change made in a context. */
const by = (context: AuditContext | undefined): Pick<AuditEntry, 'actor' | 'requestId'> => ({
  actor: context?.actor ?? null,
  ...(context?.requestId === undefined ? {} : { requestId: context.requestId }),
});

/** Grants in process memory, for tests and single-instance apps. */
export function createMemoryGrantStore(options: MemoryStoreOptions = {}): GrantStore {
  const grants = new Map<string, Map<string, Grant>>();
  const log = options.auditLog ?? createMemoryAuditLog();
  const keyOf = (role: string, scope: string | null) => `${scope ?? ''}\u0000${role}`;
  const revoked = (userId: string, grant: Grant, context: AuditContext | undefined) =>
    log.append({
      action: 'revoke',
      role: grant.role,
      userId,
      ...(grant.scope === null ? {} : { scope: grant.scope }),
      ...by(context),
    });
  return {
    async grant(userId, role, scope, context) {
      let mine = grants.get(userId);
      if (!mine) {
        mine = new Map();
        grants.set(userId, mine);
      }
      const key = keyOf(role, scope);
      if (mine.has(key)) return;
      mine.set(key, { role, scope });
      log.append({ action: 'grant', role, userId, ...(scope === null ? {} : { scope }), ...by(context) });
    },
    async revoke(userId, role, scope, context) {
      const mine = grants.get(userId);
      const key = keyOf(role, scope);
      const grant = mine?.get(key);
      if (!mine || !grant) return;
      mine.delete(key);
      revoked(userId, grant, context);
    },
    async revokeScope(userId, scope, context) {
      checkRevokedScope(scope);
      const mine = grants.get(userId);
      if (!mine) return;
      for (const [key, grant] of mine) {
        if (grant.scope !== scope) continue;
        mine.delete(key);
        revoked(userId, grant, context);
      }
    },
    async grantsOf(userId) {
      return [...(grants.get(userId)?.values() ?? [])].map((grant) => ({ ...grant }));
    },
    async countGrants(role) {
      let count = 0;
      for (const mine of grants.values()) for (const grant of mine.values()) if (grant.role === role) count++;
      return count;
    },
    async revokeRole(role, context) {
      const users: string[] = [];
      for (const [userId, mine] of grants) {
        let lost = false;
        for (const [key, grant] of mine) {
          if (grant.role !== role) continue;
          mine.delete(key);
          revoked(userId, grant, context);
          lost = true;
        }
        if (lost) users.push(userId);
      }
      return users;
    },
    async recordAudit(entry) {
      checkAuditEntry(entry);
      log.append(entry);
    },
    async auditLog(query) {
      return log.page(query);
    },
  };
}

/**
 * Runtime-editable roles in process memory: a single-instance app, or tests. Every instance
 * sharing it sees one policy; its changes are recorded in `auditLog`.
 */
export function createMemoryPolicyStore(options: MemoryStoreOptions = {}): PolicyStore {
  const roles = new Map<string, StoredRole>();
  const log = options.auditLog ?? createMemoryAuditLog();
  let version = 0;
  return {
    async load(): Promise<PolicySnapshot> {
      return { version, roles: structuredClone([...roles.values()]) };
    },
    async version() {
      return version;
    },
    async write(change, basedOn) {
      if (basedOn !== version) return null;
      if (change.after) roles.set(change.role, structuredClone(change.after));
      else roles.delete(change.role);
      version++;
      log.append({
        action: change.action,
        role: change.role,
        ...(change.before ? { before: change.before.definition } : {}),
        ...(change.after ? { after: change.after.definition } : {}),
        ...by(change.context),
      });
      return version;
    },
  };
}

/** An in-process bus: several rbac instances in one process hear each other. */
export function createMemoryRbacBus(): RbacBus {
  const handlers = new Set<(userId: string) => void>();
  const policyHandlers = new Set<(version: number) => void>();
  return {
    async publish(userId) {
      await Promise.resolve();
      for (const handler of handlers) handler(userId);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async publishPolicy(version) {
      await Promise.resolve();
      for (const handler of policyHandlers) handler(version);
    },
    subscribePolicy(handler) {
      policyHandlers.add(handler);
      return () => policyHandlers.delete(handler);
    },
  };
}
