import { checkRevokedScope, type Grant, type GrantStore, type RbacBus } from '../types.ts';

/** Grants in process memory, for tests and single-instance apps. */
export function createMemoryGrantStore(): GrantStore {
  const grants = new Map<string, Map<string, Grant>>();
  const keyOf = (role: string, scope: string | null) => `${scope ?? ''}\u0000${role}`;
  return {
    async grant(userId, role, scope) {
      let mine = grants.get(userId);
      if (!mine) {
        mine = new Map();
        grants.set(userId, mine);
      }
      mine.set(keyOf(role, scope), { role, scope });
    },
    async revoke(userId, role, scope) {
      grants.get(userId)?.delete(keyOf(role, scope));
    },
    async revokeScope(userId, scope) {
      checkRevokedScope(scope);
      const mine = grants.get(userId);
      if (!mine) return;
      for (const [key, grant] of mine) if (grant.scope === scope) mine.delete(key);
    },
    async grantsOf(userId) {
      return [...(grants.get(userId)?.values() ?? [])].map((grant) => ({ ...grant }));
    },
  };
}

/** An in-process bus: several rbac instances in one process hear each other. */
export function createMemoryRbacBus(): RbacBus {
  const handlers = new Set<(userId: string) => void>();
  return {
    async publish(userId) {
      await Promise.resolve();
      for (const handler of handlers) handler(userId);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}
