import type { AuditContext } from './audit.ts';
import { InvalidPolicyError, PolicyConflictError } from './errors.ts';
import { type Conditions, checkRoleName, type RoleDefinition, type RoleDefinitions } from './policy.ts';
import { type CompiledPolicy, compilePolicy, type StoredRoleInput, toStoredDefinition } from './stored-policy.ts';
import type { GrantStore, PolicyStore, PolicyWrite, RbacBus, StoredRole, StoredRoleDefinition } from './types.ts';

/** A role of the policy in force, as `listRoles` answers it. */
export interface RoleInfo {
  name: string;
  /** `code`: from `createRbac({ roles })`, read-only; `store`: editable at runtime. */
  source: 'code' | 'store';
  /** A stored role's version (what `expectedVersion` compares); `null` for a code role. */
  version: number | null;
  definition: RoleDefinition;
}

export interface RoleChangeOptions extends AuditContext {
  /** Refuse the change with `PolicyConflictError` unless the role is at this version. */
  expectedVersion?: number;
}

export interface DeleteRoleOptions extends RoleChangeOptions {
  /** Revoke every grant of the role too (each recorded); without it a granted role is not deleted. */
  cascade?: boolean;
}

/** What the runtime needs of the rbac instance around it. */
export interface PolicyRuntimeDeps {
  code: RoleDefinitions;
  conditions: Conditions | undefined;
  policyStore: PolicyStore;
  grants: GrantStore;
  bus: RbacBus | undefined;
  pollMs: number | false;
  /** Makes a compiled policy the one in force (a single assignment: checks see the old or the new). */
  install(policy: CompiledPolicy): void;
  current(): CompiledPolicy;
  /** Forgets a user's cached grants here and on other instances. */
  invalidate(userId: string): Promise<void>;
  onError(error: unknown): void;
}

// A change lost to a concurrent one is validated again on the new policy and retried: this
// many times before the caller hears of it (only a storm of edits to one policy gets there).
const WRITE_ATTEMPTS = 10;

/**
 * A stored policy kept in force on this instance: loaded, recompiled once per change (never per
 * check), refreshed on a bus message or a poll, and edited through validated, optimistic writes.
 */
export function createPolicyRuntime(deps: PolicyRuntimeDeps) {
  const { code, conditions, policyStore } = deps;
  const compile = (snapshot: { version: number; roles: StoredRole[] }) =>
    compilePolicy(code, snapshot, conditions, { allowEmpty: true });
  // A callback that throws must not become an unhandled rejection (it would end the process).
  const report = (error: unknown) => {
    try {
      deps.onError(error);
    } catch {
      // nothing more can be done with it
    }
  };
  // Versions only go up, so a load that lost a race with this instance's own write (older) is
  // not installed over it. A store whose version went down (a database restored from a backup)
  // is the truth all the same: adopted when no write of this instance is under way.
  let writing = 0;
  const install = (policy: CompiledPolicy) => {
    const current = deps.current().version;
    if (policy.version > current || (policy.version < current && writing === 0)) deps.install(policy);
  };
  // The version of a stored policy that did not compile here: not loaded again (nor reported
  // again every poll) until the version moves.
  let refusedVersion = -1;
  const stale = (version: number) => version !== deps.current().version && version !== refusedVersion;

  let reloading: Promise<void> | undefined;
  let again = false;
  const reloadOnce = async () => {
    const snapshot = await policyStore.load();
    if (!stale(snapshot.version)) return;
    // An invalid stored policy (edited by hand, or by an instance with other code roles) is
    // refused whole: the one in force stays.
    try {
      install(compile(snapshot));
    } catch (error) {
      refusedVersion = snapshot.version;
      throw error;
    }
  };
  /** Loads the stored policy if it moved on; calls made meanwhile share the load (and one more after it). */
  const refresh = (): Promise<void> => {
    if (reloading) {
      again = true;
      return reloading;
    }
    reloading = (async () => {
      try {
        do {
          again = false;
          await reloadOnce();
        } while (again);
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };
  const refreshInBackground = () => {
    refresh().catch(report);
  };

  const unsubscribe = deps.bus?.subscribePolicy?.((version) => {
    if (typeof version === 'number' && version > deps.current().version && version !== refusedVersion)
      refreshInBackground();
  });
  // The safety net behind the bus: pub/sub drops what is sent while a subscriber reconnects.
  // One poll at a time: a store slower than the interval is not asked again before it answers.
  let polling = false;
  const poll =
    deps.pollMs === false
      ? undefined
      : setInterval(() => {
          if (polling) return;
          polling = true;
          policyStore
            .version()
            .then((version) => {
              if (stale(version)) refreshInBackground();
            }, report)
            .finally(() => {
              polling = false;
            });
        }, deps.pollMs);
  poll?.unref();

  const refuseCodeRole = (name: string) => {
    if (Object.hasOwn(code, name))
      throw new InvalidPolicyError(`role "${name}" is defined in code: it cannot be changed at runtime`);
  };
  const checkVersion = (name: string, existing: StoredRole, expected: number | undefined) => {
    if (expected !== undefined && existing.version !== expected)
      throw new PolicyConflictError(
        name,
        `role "${name}" is at version ${existing.version}, not ${expected}: it changed since you read it`,
        existing.version,
      );
  };

  /**
   * The one way the stored policy changes: plan on a fresh snapshot (`plan` throws to refuse),
   * compile the whole resulting policy (invalid → nothing written), write if nobody wrote
   * meanwhile, else start over. The compiled result goes in force here at once, and other
   * instances hear of its version.
   */
  const change = async (
    action: PolicyWrite['action'],
    name: string,
    context: AuditContext,
    plan: (existing: StoredRole | undefined) => StoredRoleDefinition | null,
  ): Promise<StoredRole | null> => {
    writing++;
    try {
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const snapshot = await policyStore.load();
        const existing = snapshot.roles.find((role) => role.name === name);
        const definition = plan(existing);
        const after = definition === null ? null : { name, definition, version: (existing?.version ?? 0) + 1 };
        const roles = snapshot.roles.filter((role) => role.name !== name);
        if (after) roles.push(after);
        const compiled = compile({ version: snapshot.version + 1, roles });
        const written = await policyStore.write(
          { action, role: name, before: existing ?? null, after, context },
          snapshot.version,
        );
        if (written === null) continue;
        // In force here when the call resolves, whatever version this instance was at.
        deps.install(written === compiled.version ? compiled : { ...compiled, version: written });
        deps.bus?.publishPolicy?.(written).catch(report);
        return after;
      }
      throw new PolicyConflictError(
        name,
        `role "${name}": ${WRITE_ATTEMPTS} attempts each lost to a concurrent change`,
      );
    } finally {
      writing--;
    }
  };

  // Only the audit fields of the caller's options reach the store.
  const contextOf = (options: AuditContext | undefined): AuditContext => ({
    ...(options?.actor === undefined ? {} : { actor: options.actor }),
    ...(options?.requestId === undefined ? {} : { requestId: options.requestId }),
  });

  return {
    refresh,
    async defineRole(name: string, input: StoredRoleInput, options?: AuditContext): Promise<StoredRole> {
      checkRoleName(name);
      refuseCodeRole(name);
      const definition = toStoredDefinition(name, input);
      // Grants of a former role of this name (one deleted while an instance that had not heard
      // of it yet granted it) would come back to life with whatever the new role allows.
      const known = deps.current().stored.some((role) => role.name === name);
      const leftover = known ? 0 : await deps.grants.countGrants(name);
      if (leftover > 0)
        throw new PolicyConflictError(
          name,
          `grants of a former role "${name}" remain (${leftover}): remove them first with deleteRole("${name}", { cascade: true })`,
        );
      const role = await change('role.define', name, contextOf(options), (existing) => {
        if (existing)
          throw new PolicyConflictError(
            name,
            `role "${name}" already exists (version ${existing.version})`,
            existing.version,
          );
        return definition;
      });
      return role as StoredRole;
    },
    async updateRole(name: string, changes: StoredRoleInput, options?: RoleChangeOptions): Promise<StoredRole> {
      checkRoleName(name);
      refuseCodeRole(name);
      // Checked alone first (fields not given are taken from the stored role below).
      const given = toStoredDefinition(name, changes);
      const role = await change('role.update', name, contextOf(options), (existing) => {
        if (!existing) throw new InvalidPolicyError(`unknown role "${name}"`);
        checkVersion(name, existing, options?.expectedVersion);
        return {
          permissions: changes.permissions === undefined ? existing.definition.permissions : given.permissions,
          inherits: changes.inherits === undefined ? existing.definition.inherits : given.inherits,
          deny: changes.deny === undefined ? existing.definition.deny : given.deny,
        };
      });
      return role as StoredRole;
    },
    async deleteRole(name: string, options?: DeleteRoleOptions): Promise<void> {
      checkRoleName(name);
      refuseCodeRole(name);
      const context = contextOf(options);
      const granted = await deps.grants.countGrants(name);
      const snapshot = await policyStore.load();
      const stored = snapshot.roles.some((role) => role.name === name);
      // A cascade that deleted the role but failed to revoke its grants is finished by calling it again.
      if (!stored && options?.cascade && granted > 0) return revokeEvery(name, context);
      if (granted > 0 && !options?.cascade)
        throw new PolicyConflictError(
          name,
          `role "${name}" is still granted (${granted} grant${granted === 1 ? '' : 's'}): revoke them first, or pass cascade: true`,
        );
      await change('role.delete', name, context, (existing) => {
        if (!existing) throw new InvalidPolicyError(`unknown role "${name}"`);
        checkVersion(name, existing, options?.expectedVersion);
        return null;
      });
      // After the delete (validated with it: a role others inherit is refused before any grant goes).
      if (options?.cascade) await revokeEvery(name, context);
    },
    async listRoles(): Promise<RoleInfo[]> {
      await refresh();
      const policy = deps.current();
      return [
        ...Object.entries(code).map(([name, definition]) => ({
          name,
          source: 'code' as const,
          version: null,
          definition,
        })),
        ...policy.stored.map((role) => ({
          name: role.name,
          source: 'store' as const,
          version: role.version,
          definition: structuredClone(role.definition),
        })),
      ];
    },
    close() {
      unsubscribe?.();
      if (poll) clearInterval(poll);
    },
  };

  async function revokeEvery(name: string, context: AuditContext): Promise<void> {
    const users = await deps.grants.revokeRole(name, context);
    for (const userId of users) await deps.invalidate(userId);
  }
}

export type PolicyRuntime = ReturnType<typeof createPolicyRuntime>;
