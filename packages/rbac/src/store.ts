/** A role granted to a user globally (`scope: null`) or within one scope (e.g. `chat:42`). */
export interface Grant {
  role: string;
  scope: string | null;
}

/** Where grants live (role definitions live in code). */
export interface GrantStore {
  grant(userId: string, role: string, scope: string | null): Promise<void>;
  revoke(userId: string, role: string, scope: string | null): Promise<void>;
  grantsOf(userId: string): Promise<Grant[]>;
}

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
    async grantsOf(userId) {
      return [...(grants.get(userId)?.values() ?? [])].map((grant) => ({ ...grant }));
    },
  };
}

/** Tells other instances that a user's grants changed (Redis pub/sub, or in-process). */
export interface RbacBus {
  publish(userId: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(handler: (userId: string) => void): () => void;
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
