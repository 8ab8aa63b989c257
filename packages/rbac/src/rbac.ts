import { resolveTelemetry, TickClock, wholeNumberOption } from '@switchboard/hot-path';
import { type CheckOptions, createDecisions, type Explanation, type GrantIndex } from './decision.ts';
import { type ForbiddenError, forbidden } from './errors.ts';
import { type Conditions, compileRoles, matchingRules, parsePermission, type RoleDefinitions } from './policy.ts';
import { createMemoryGrantStore } from './stores/memory.ts';
import { decisionCounter, RbacTracing, type Telemetry } from './telemetry.ts';
import type { GrantStore, RbacBus } from './types.ts';

export interface RbacCacheOptions {
  /** How long a user's grants are trusted without reloading: the safety net behind the bus. @default 30000 */
  ttlMs?: number;
  /** Most users whose grants are kept. @default 10000 */
  maxUsers?: number;
  /** Carries grant/revoke to other instances; without it, they learn within `ttlMs`. */
  bus?: RbacBus;
}

export interface RbacOptions {
  roles: RoleDefinitions;
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
  grant(userId: string, role: string, scope?: string): Promise<void>;
  revoke(userId: string, role: string, scope?: string): Promise<void>;
  /**
   * Revokes every grant the user holds in `scope` (e.g. removed from a chat), whatever the
   * roles: one store call, not a loop over the roles the code knows. Global grants stay.
   */
  revokeScope(userId: string, scope: string): Promise<void>;
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
  const roles = compileRoles(options?.roles, options?.conditions);
  const decisions = createDecisions(roles);
  const { decide } = decisions;
  const telemetry = resolveTelemetry('createRbac', options.telemetry);
  const tracing = telemetry && new RbacTracing(telemetry);
  const count = telemetry && decisionCounter(telemetry);
  // Chosen once: without a counter, checks call the engine itself (nothing added to the hot path).
  const evaluate: typeof decisions.evaluate = count
    ? (grants, userId, permission, check) => {
        const allowed = decisions.evaluate(grants, userId, permission, check);
        count(permission, allowed);
        return allowed;
      }
    : decisions.evaluate;
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
    return decide(await grantsFor(userId), userId, permission, check);
  };

  const changeGrant = async (kind: 'grant' | 'revoke', userId: string, role: string, scope?: string) => {
    if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('userId must be a non-empty string');
    if (!roles.has(role)) throw new TypeError(`unknown role "${role}"`);
    if (scope !== undefined && (typeof scope !== 'string' || !SCOPE.test(scope)))
      throw new TypeError(`${kind}: scope must be "type:id" (e.g. "chat:42"), got ${JSON.stringify(scope)}`);
    const change = async () => {
      await store[kind](userId, role, scope ?? null);
      // At once on this instance; on others through the bus (and at worst after ttlMs).
      invalidate(userId);
      await cacheOptions?.bus?.publish(userId);
    };
    return tracing ? tracing.change(kind, role, scope, change) : change();
  };

  return {
    grant: (userId, role, scope) => changeGrant('grant', userId, role, scope),
    revoke: (userId, role, scope) => changeGrant('revoke', userId, role, scope),
    async revokeScope(userId, scope) {
      checkUser(userId);
      if (typeof scope !== 'string' || !SCOPE.test(scope))
        throw new TypeError(`revokeScope: scope must be "type:id" (e.g. "chat:42"), got ${JSON.stringify(scope)}`);
      const change = async () => {
        await store.revokeScope(userId, scope);
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
      unsubscribe?.();
      clock.stop();
    },
  };
}
