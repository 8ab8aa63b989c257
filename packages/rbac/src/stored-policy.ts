import { createDecisions } from './decision.ts';
import { InvalidPolicyError } from './errors.ts';
import {
  type CompiledRole,
  type Conditions,
  compileRoles,
  type RoleDefinition,
  type RoleDefinitions,
} from './policy.ts';
import type { PolicySnapshot, StoredRole, StoredRoleDefinition } from './types.ts';

/** What a runtime role definition may hold: data only. */
export interface StoredRoleInput {
  permissions?: readonly (string | { permission: string; condition: string })[];
  inherits?: readonly string[];
  deny?: readonly string[];
}

/** The policy in force: code roles and stored roles compiled together, at a stored version. */
export interface CompiledPolicy {
  /** The stored policy's version (0 without a policy store). */
  version: number;
  roles: ReadonlyMap<string, CompiledRole>;
  /** The stored roles it was compiled from. */
  stored: readonly StoredRole[];
  evaluate: ReturnType<typeof createDecisions>['evaluate'];
  decide: ReturnType<typeof createDecisions>['decide'];
}

// Bounds on one role, so that a runaway admin script cannot store a policy too large to compile fast.
const MAX_ENTRIES = 1_000;
const KEYS = new Set(['permissions', 'inherits', 'deny']);

/**
 * Checks the shape of a role given to `defineRole` / `updateRole` and copies it into the stored
 * form. What it refers to (other roles, conditions, cycles) is checked by compiling the whole
 * policy with it.
 */
export function toStoredDefinition(role: string, input: StoredRoleInput): StoredRoleDefinition {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new InvalidPolicyError(`role "${role}": the definition must be an object`);
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key))
      throw new InvalidPolicyError(`role "${role}": unknown field "${key}" (a role has permissions, inherits, deny)`);
  }
  const list = <T>(name: keyof StoredRoleInput, value: readonly T[] | undefined): T[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new InvalidPolicyError(`role "${role}": ${name} must be an array`);
    if (value.length > MAX_ENTRIES)
      throw new InvalidPolicyError(`role "${role}": ${name} has ${value.length} entries, at most ${MAX_ENTRIES}`);
    return [...value];
  };
  const permissions = list('permissions', input.permissions).map((entry) => {
    if (typeof entry === 'string') return entry;
    if (entry === null || typeof entry !== 'object')
      throw new InvalidPolicyError(`role "${role}": a permission is a string or { permission, condition }`);
    if ('when' in entry)
      throw new InvalidPolicyError(
        `role "${role}": a stored role cannot hold a function ("when"): register the condition in createRbac({ conditions }) and refer to it by name`,
      );
    const keys = Object.keys(entry);
    if (keys.length !== 2 || typeof entry.permission !== 'string' || typeof entry.condition !== 'string')
      throw new InvalidPolicyError(
        `role "${role}": a conditional permission is exactly { permission, condition } with two strings, got ${JSON.stringify(entry)}`,
      );
    return { permission: entry.permission, condition: entry.condition };
  });
  const strings = (name: 'inherits' | 'deny', value: readonly string[] | undefined) =>
    list(name, value).map((entry) => {
      if (typeof entry !== 'string')
        throw new InvalidPolicyError(`role "${role}": ${name} holds strings, got ${JSON.stringify(entry)}`);
      return entry;
    });
  return { permissions, inherits: strings('inherits', input.inherits), deny: strings('deny', input.deny) };
}

/**
 * Compiles code roles and stored roles as one policy: an error in either (a stored role that
 * inherits a role nobody defines, a cycle across both, an unknown condition) is an
 * `InvalidPolicyError`, and nothing changes where it was called from.
 */
export function compilePolicy(
  code: RoleDefinitions,
  snapshot: PolicySnapshot,
  conditions: Conditions | undefined,
  { allowEmpty }: { allowEmpty: boolean },
): CompiledPolicy {
  // No prototype: a role named like an Object.prototype member is just a key.
  const definitions: Record<string, RoleDefinition> = Object.assign(Object.create(null), code);
  for (const role of snapshot.roles) {
    if (Object.hasOwn(code, role.name))
      throw new InvalidPolicyError(`role "${role.name}" is defined both in code and in the policy store`);
    definitions[role.name] = role.definition;
  }
  const roles = compileRoles(definitions, conditions, { allowEmpty });
  const { evaluate, decide } = createDecisions(roles);
  return { version: snapshot.version, roles, stored: snapshot.roles, evaluate, decide };
}

/**
 * A frozen copy of the code roles: the policy is recompiled from them on every stored change, so
 * a caller mutating the object it passed (or one `listRoles` answered) must not change it.
 */
export function freezeCodeRoles(code: RoleDefinitions): RoleDefinitions {
  // Anything malformed is passed on as it is, for compileRoles to name the problem.
  if (!code || typeof code !== 'object') return code;
  const list = <T>(value: readonly T[] | undefined, copy: (entry: T) => T = (entry) => entry) =>
    Array.isArray(value) ? Object.freeze(value.map(copy)) : value;
  const copy: Record<string, RoleDefinition> = {};
  for (const [name, definition] of Object.entries(code)) {
    copy[name] =
      definition && typeof definition === 'object'
        ? Object.freeze({
            ...definition,
            ...(definition.permissions === undefined
              ? {}
              : {
                  permissions: list(definition.permissions, (entry) =>
                    entry && typeof entry === 'object' ? Object.freeze({ ...entry }) : entry,
                  ) as RoleDefinition['permissions'] & object,
                }),
            ...(definition.inherits === undefined ? {} : { inherits: list(definition.inherits) as readonly string[] }),
            ...(definition.deny === undefined ? {} : { deny: list(definition.deny) as readonly string[] }),
          })
        : definition;
  }
  return Object.freeze(copy);
}
