import { resolveTelemetry, TickClock, wholeNumberOption } from '@switchboard/hot-path';
import type { AuditContext } from './audit.ts';
import type { CheckOptions, GrantIndex } from './decision.ts';
import { type ForbiddenError, forbidden, InvalidPolicyError } from './errors.ts';
import { matchingRules, parsePermission } from './policy.ts';
import { createPolicyRuntime, type PolicyRuntime } from './policy-runtime.ts';
import type { Rbac, RbacOptions } from './rbac-api.ts';
import { type CompiledPolicy, compilePolicy, freezeCodeRoles } from './stored-policy.ts';
import { createMemoryGrantStore } from './stores/memory.ts';
import { decisionCounter, RbacTracing } from './telemetry.ts';

export type { Rbac, RbacCacheOptions, RbacOptions, UserPermissions } from './rbac-api.ts';

// A settled promise can be awaited any number of times: warm checks hand out these.
// A scope names what it is about: a type, a colon, an id (`chat:42`). A bare id ('42') would
// match no check (checks pass `chat:42`), so the grant would silently do nothing.
const SCOPE = /^[^\s:]+:\S/;

const ALLOWED = Promise.resolve(true);
const DENIED = Promise.resolve(false);
const PASSED = Promise.resolve();

/**
 * A warm refusal, handed to `Promise.resolve`: the promise adopts it one microtask later, when
 * the caller's await or catch is attached, so it rejects with a handler already there. Rejecting
 * at once would run Node's unhandled-rejection bookkeeping (done for every promise rejected with
 * no handler yet); throwing from a reaction would unwind the stack; this does neither.
 */
class Refusal {
  readonly #error: ForbiddenError;
  constructor(error: ForbiddenError) {
    this.#error = error;
  }
  // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose, only ever handed to Promise.resolve
  then(_fulfil: unknown, reject: (reason: ForbiddenError) => void): void {
    reject(this.#error);
  }
}

/**
 * Cache ages are counted in ticks of ttlMs / 16 (the kit's TickClock: a warm check costs less
 * than a clock read): an entry is trusted for at least ttlMs (so at most one load per user per
 * ttlMs) and at most 17/16 of it. The clock runs once something is cached.
 */
const TTL_TICKS = 16;

interface UserGrants extends GrantIndex {
  /** The cache's tick when loaded: trusted while fewer than TTL_TICKS + 1 ticks have passed. */
  loadedTick: number;
}

/**
 * @example
 * const rbac = await createRbac({
 *   roles: { member: { permissions: ['message:send'] }, admin: { inherits: ['member'], permissions: ['chat:*'] } },
 * });
 * await rbac.grant(userId, 'admin', 'chat:42');
 * await rbac.can(userId, 'chat:rename', { scope: 'chat:42' }); // true; in chat:43 false
 */
export async function createRbac(options: RbacOptions): Promise<Rbac> {
  const code = freezeCodeRoles(options?.roles ?? {});
  const { policyStore } = options ?? {};
  if (options?.roles === undefined && policyStore === undefined)
    throw new InvalidPolicyError('createRbac needs roles (in code), a policyStore, or both');
  if (policyStore !== undefined && (typeof policyStore.load !== 'function' || typeof policyStore.write !== 'function'))
    throw new TypeError(
      'createRbac: policyStore must be a policy store (createPostgresPolicyStore, createMemoryPolicyStore)',
    );
  const pollMs = options.policyPollMs ?? 5_000;
  if (pollMs !== false) wholeNumberOption('createRbac', 'policyPollMs', pollMs, { min: 1 });
  // The policy in force. Replaced whole when the stored policy changes; a check reads it once,
  // so it runs on the old policy or the new one, never a mix.
  let policy: CompiledPolicy = compilePolicy(
    code,
    policyStore ? await policyStore.load() : { version: 0, roles: [] },
    options.conditions,
    { allowEmpty: policyStore !== undefined },
  );
  const telemetry = resolveTelemetry('createRbac', options.telemetry);
  const tracing = telemetry && new RbacTracing(telemetry);
  const count = telemetry && decisionCounter(telemetry);
  // What checks call: the policy's own evaluation, or it counted. Without a counter it is the
  // policy's function itself (no call added), so it is replaced together with `policy`, in the
  // same synchronous step: a check reads it once and runs on the old policy or the new one.
  const counted: CompiledPolicy['evaluate'] | undefined =
    count &&
    ((grants, userId, permission, check) => {
      const allowed = policy.evaluate(grants, userId, permission, check);
      count(permission, allowed);
      return allowed;
    });
  let evaluate: CompiledPolicy['evaluate'] = counted ?? policy.evaluate;
  const store = options.store ?? createMemoryGrantStore();
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {});
  const ttlMs = cacheOptions?.ttlMs ?? 30_000;
  const maxUsers = cacheOptions?.maxUsers ?? 10_000;
  if (!(ttlMs > 0)) throw new TypeError(`cache.ttlMs must be > 0, got ${ttlMs}`);
  wholeNumberOption('createRbac', 'cache.maxUsers', maxUsers, { min: 1 });
  const cache = new Map<string, UserGrants>();
  const clock = new TickClock(ttlMs / TTL_TICKS);
  // Bumped by every invalidation: a load that an invalidation overtook is not kept.
  const versions = new Map<string, number>();
  const loads = new Map<string, Promise<UserGrants>>();

  const invalidate = (userId: string) => {
    cache.delete(userId);
    loads.delete(userId);
    versions.set(userId, (versions.get(userId) ?? 0) + 1);
  };
  const unsubscribe = cacheOptions?.bus?.subscribe((userId) => {
    if (typeof userId === 'string') invalidate(userId);
  });

  const grantsFor = (userId: string): Promise<UserGrants> | UserGrants => {
    const cached = cacheOptions ? cache.get(userId) : undefined;
    if (cached && clock.tick - cached.loadedTick <= TTL_TICKS) return cached;
    const pending = loads.get(userId);
    if (pending) return pending;
    const version = versions.get(userId) ?? 0;
    const fetched = tracing ? tracing.load(() => store.grantsOf(userId)) : store.grantsOf(userId);
    const load = fetched.then((grants) => {
      const indexed: UserGrants = { global: [], scoped: new Map(), loadedTick: cacheOptions ? clock.start() : 0 };
      for (const { role, scope } of grants) {
        if (scope === null) indexed.global.push(role);
        else indexed.scoped.set(scope, [...(indexed.scoped.get(scope) ?? []), role]);
      }
      if (loads.get(userId) === load) loads.delete(userId);
      if (cacheOptions && (versions.get(userId) ?? 0) === version) {
        cache.delete(userId);
        cache.set(userId, indexed);
        if (cache.size > maxUsers) {
          const oldest = cache.keys().next();
          if (!oldest.done) cache.delete(oldest.value);
        }
      }
      return indexed;
    });
    loads.set(userId, load);
    load.catch(() => loads.delete(userId));
    return load;
  };

  const checkUser = (userId: string) => {
    if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('userId must be a non-empty string');
  };

  const explain = async (userId: string, permission: string, check: CheckOptions = {}) => {
    checkUser(userId);
    const grants = await grantsFor(userId);
    return policy.decide(grants, userId, permission, check);
  };

  const runtime: PolicyRuntime | undefined =
    policyStore &&
    createPolicyRuntime({
      code,
      conditions: options.conditions,
      policyStore,
      grants: store,
      bus: cacheOptions?.bus,
      pollMs,
      install: (compiled) => {
        policy = compiled;
        evaluate = counted ?? compiled.evaluate;
      },
      current: () => policy,
      invalidate: async (userId) => {
        invalidate(userId);
        await cacheOptions?.bus?.publish(userId);
      },
      onError: options.onPolicyError ?? ((error) => process.emitWarning(errorText(error), 'SwitchboardRbacPolicy')),
    });
  const needsStore = (method: string) => {
    if (!runtime)
      throw new TypeError(`${method} needs createRbac({ policyStore }): roles defined in code are read-only`);
    return runtime;
  };

  const changeGrant = async (
    kind: 'grant' | 'revoke',
    userId: string,
    role: string,
    scope: string | undefined,
    context: AuditContext | undefined,
  ) => {
    if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('userId must be a non-empty string');
    // A role defined on another instance a moment ago may not have reached this one yet.
    if (kind === 'grant' && !policy.roles.has(role)) await runtime?.refresh();
    if (kind === 'grant' && !policy.roles.has(role)) throw new TypeError(`unknown role "${role}"`);
    if (scope !== undefined && (typeof scope !== 'string' || !SCOPE.test(scope)))
      throw new TypeError(`${kind}: scope must be "type:id" (e.g. "chat:42"), got ${JSON.stringify(scope)}`);
    const change = async () => {
      await store[kind](userId, role, scope ?? null, context);
      // At once on this instance; on others through the bus (and at worst after ttlMs).
      invalidate(userId);
      await cacheOptions?.bus?.publish(userId);
    };
    return tracing ? tracing.change(kind, role, scope, change) : change();
  };

  return {
    grant: (userId, role, scope, context) => changeGrant('grant', userId, role, scope, context),
    revoke: (userId, role, scope, context) => changeGrant('revoke', userId, role, scope, context),
    defineRole: async (name, definition, context) => needsStore('defineRole').defineRole(name, definition, context),
    updateRole: async (name, changes, changeOptions) =>
      needsStore('updateRole').updateRole(name, changes, changeOptions),
    deleteRole: async (name, deleteOptions) => needsStore('deleteRole').deleteRole(name, deleteOptions),
    async listRoles() {
      if (runtime) return runtime.listRoles();
      return Object.entries(code).map(([name, definition]) => ({ name, source: 'code', version: null, definition }));
    },
    auditLog: (query) => store.auditLog(query),
    recordAudit: (entry) => store.recordAudit(entry),
    async revokeScope(userId, scope, context) {
      checkUser(userId);
      if (typeof scope !== 'string' || !SCOPE.test(scope))
        throw new TypeError(`revokeScope: scope must be "type:id" (e.g. "chat:42"), got ${JSON.stringify(scope)}`);
      const change = async () => {
        await store.revokeScope(userId, scope, context);
        invalidate(userId);
        await cacheOptions?.bus?.publish(userId);
      };
      return tracing ? tracing.change('revoke_scope', undefined, scope, change) : change();
    },
    can(userId, permission, check = {}) {
      try {
        checkUser(userId);
        const grants = grantsFor(userId);
        // Warm: answered synchronously, with one of two shared settled promises (no allocation).
        if (!(grants instanceof Promise)) return evaluate(grants, userId, permission, check) ? ALLOWED : DENIED;
        return grants.then((loaded) => evaluate(loaded, userId, permission, check));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    assert(userId, permission, check = {}) {
      try {
        checkUser(userId);
        const grants = grantsFor(userId);
        if (!(grants instanceof Promise)) {
          if (evaluate(grants, userId, permission, check)) return PASSED;
          // Built here, so its stack names the caller.
          return Promise.resolve(new Refusal(forbidden(permission, check.scope)));
        }
        return grants.then((loaded) => {
          if (!evaluate(loaded, userId, permission, check)) throw forbidden(permission, check.scope);
        });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    explain,
    async canMany(userId, checks) {
      if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('userId must be a non-empty string');
      const grants = await grantsFor(userId);
      return checks.map((check) => evaluate(grants, userId, check.permission, check));
    },
    async rolesOf(userId, scope) {
      const grants = await grantsFor(userId);
      return [...new Set([...grants.global, ...(scope === undefined ? [] : (grants.scoped.get(scope) ?? []))])];
    },
    async scopesWith(userId, permission, kind) {
      const [resource, action] = parsePermission(permission);
      const grants = await grantsFor(userId);
      const { roles } = policy;
      const holds = (roleName: string) => {
        const role = roles.get(roleName);
        return role !== undefined && matchingRules(role, permission, resource, action).some((rule) => !rule.when);
      };
      const denies = (roleName: string) => {
        const denied = roles.get(roleName)?.denies;
        return denied !== undefined && matchingRules(denied, permission, resource, action).length > 0;
      };
      if (grants.global.some(denies)) return [];
      const prefix = `${kind}:`;
      const ids: string[] = [];
      const deniedIn: string[] = [];
      for (const [scope, granted] of grants.scoped) {
        if (!scope.startsWith(prefix)) continue;
        if (granted.some(denies)) deniedIn.push(scope.slice(prefix.length));
        else if (granted.some(holds)) ids.push(scope.slice(prefix.length));
      }
      if (grants.global.some(holds)) return deniedIn.length === 0 ? '*' : { except: deniedIn };
      return ids;
    },
    async invalidate(userId) {
      checkUser(userId);
      invalidate(userId);
      await cacheOptions?.bus?.publish(userId);
    },
    async forUser(userId) {
      checkUser(userId);
      const grants = await grantsFor(userId);
      return {
        userId,
        can: (permission, check = {}) => evaluate(grants, userId, permission, check),
        assert: (permission, check = {}) => {
          if (!evaluate(grants, userId, permission, check)) throw forbidden(permission, check.scope);
        },
        rolesOf: (scope) => [
          ...new Set([...grants.global, ...(scope === undefined ? [] : (grants.scoped.get(scope) ?? []))]),
        ],
      };
    },
    close: () => {
      runtime?.close();
      unsubscribe?.();
      clock.stop();
    },
  };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
