/** A role granted to a user globally (`scope: null`) or within one scope (e.g. `chat:42`). */
export interface Grant {
  role: string;
  scope: string | null;
}

/** Where grants live (role definitions live in code). */
export interface GrantStore {
  grant(userId: string, role: string, scope: string | null): Promise<void>;
  revoke(userId: string, role: string, scope: string | null): Promise<void>;
  /**
   * Removes every grant the user holds in `scope` (whatever the role: a role the code does not
   * know of, defined at runtime, included), in one step; global grants and other scopes stay.
   */
  revokeScope(userId: string, scope: string): Promise<void>;
  grantsOf(userId: string): Promise<Grant[]>;
}

/**
 * What every store's `revokeScope` refuses: a scope that is not a non-empty string. It names
 * one scope; the Postgres store keeps global grants under `''`, so an empty one would revoke them.
 */
export function checkRevokedScope(scope: unknown): void {
  if (typeof scope !== 'string' || scope.length === 0)
    throw new TypeError(`revokeScope: scope must be a non-empty "type:id", got ${JSON.stringify(scope)}`);
}

/** Tells other instances that a user's grants changed (Redis pub/sub, or in-process). */
export interface RbacBus {
  publish(userId: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(handler: (userId: string) => void): () => void;
}
