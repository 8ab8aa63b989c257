import { InvalidPolicyError } from './errors.ts';

/** What a condition sees. */
export interface ConditionContext<Resource = unknown> {
  userId: string;
  scope: string | undefined;
  resource: Resource | undefined;
}

/**
 * A permission that holds only when `when` says so (e.g. editing one's own message).
 *
 * `resource` is whatever the check passed as `resource`, unchecked: read it as it is, or give it a
 * type by annotating the parameter, `({ userId, resource }: ConditionContext<Message>) => ...`.
 */
export interface ConditionalPermission {
  permission: string;
  // biome-ignore lint/suspicious/noExplicitAny: checks pass any value as `resource`; `any` lets an unannotated condition read it and an annotated one (`ConditionContext<Message>`) be accepted, where `unknown` would refuse both
  when: (context: ConditionContext<any>) => boolean;
}

/**
 * A permission under a condition registered by name at `createRbac` (`conditions`): the shape a
 * policy kept as data can hold, since functions cannot be stored.
 */
export interface NamedConditionPermission {
  permission: string;
  /** A key of `createRbac`'s `conditions`; an unknown name fails `createRbac`. */
  condition: string;
}

// biome-ignore lint/suspicious/noExplicitAny: as `ConditionalPermission.when`: an unannotated condition reads `resource` as it is
export type Condition = (context: ConditionContext<any>) => boolean;

/** Conditions by name, registered once at `createRbac` and referred to by `{ permission, condition }`. */
export type Conditions = Record<string, Condition>;

export interface RoleDefinition {
  /**
   * `resource:action` with `*` for any resource or action: `message:send`, `chat:*`, `*:read`, `*`;
   * or one under a condition, given as a function (`when`) or by name (`condition`).
   */
  permissions?: readonly (string | ConditionalPermission | NamedConditionPermission)[];
  /** Roles whose permissions this one has too. */
  inherits?: readonly string[];
  /**
   * Permissions this role refuses, patterns as in `permissions` (wildcards allowed). A deny held
   * through any grant that applies to a check (a global one, or one in the checked scope) wins
   * over every allow, as an explicit deny does in AWS IAM; roles that inherit this one inherit
   * its denies too, so a deny in a widely inherited role binds everyone below it.
   */
  deny?: readonly string[];
}

export type RoleDefinitions = Record<string, RoleDefinition>;

/** One way a role holds a permission: the pattern, the role that declares it, and any condition. */
export interface Rule {
  pattern: string;
  /** The role (this one or one it inherits) whose definition holds the pattern. */
  from: string;
  when: ((context: ConditionContext<never>) => boolean) | undefined;
}

/** Rules indexed by the shape of their pattern: a check is a few map look-ups. */
export interface RuleIndex {
  exact: Map<string, Rule[]>;
  /** `resource:*` rules, by resource. */
  anyAction: Map<string, Rule[]>;
  /** `*:action` rules, by action. */
  anyResource: Map<string, Rule[]>;
  /** `*` / `*:*` rules. */
  everything: Rule[];
}

/** A role with its inheritance flattened: what it allows, and what it denies (if anything). */
export interface CompiledRole extends RuleIndex {
  name: string;
  /** Its deny rules and those of the roles it inherits; `undefined` when there are none. */
  denies: RuleIndex | undefined;
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

// Checked permissions come from code, so there are few distinct ones: parse each once.
const parsed = new Map<string, [string, string]>();

/** Refuses a role name that is not letters, digits, _ . - (or is `__proto__`, never a plain key). */
export function checkRoleName(name: unknown): void {
  if (typeof name !== 'string' || !SEGMENT.test(name) || name === '__proto__')
    throw new InvalidPolicyError(`role name ${JSON.stringify(name)} must be letters, digits, _ . -`);
}

/** Splits a concrete permission (no wildcards), or throws a TypeError naming it. */
export function parsePermission(permission: string): [string, string] {
  const known = parsed.get(permission);
  if (known) return known;
  const parts = typeof permission === 'string' ? permission.split(':') : [];
  if (parts.length !== 2 || !SEGMENT.test(parts[0] as string) || !SEGMENT.test(parts[1] as string)) {
    throw new TypeError(
      `a permission is "resource:action" (letters, digits, _ . -), got ${JSON.stringify(permission)}`,
    );
  }
  // Bounded: a caller building permissions from user input must not grow this for ever.
  if (parsed.size >= 10_000) parsed.clear();
  parsed.set(permission, parts as [string, string]);
  return parts as [string, string];
}

/**
 * Validates role definitions and compiles them once: inheritance flattened (unknown roles and
 * cycles are errors), wildcards indexed per segment, so a check is a few map look-ups whatever
 * the size of the policy.
 */
export function compileRoles(
  definitions: RoleDefinitions,
  conditions: Conditions = {},
  { allowEmpty = false }: { allowEmpty?: boolean } = {},
): Map<string, CompiledRole> {
  if (!definitions || typeof definitions !== 'object')
    throw new InvalidPolicyError('roles must be an object of role definitions');
  if (!conditions || typeof conditions !== 'object')
    throw new InvalidPolicyError('conditions must be an object of named condition functions');
  for (const [name, condition] of Object.entries(conditions)) {
    if (typeof condition !== 'function') throw new InvalidPolicyError(`condition "${name}" must be a function`);
  }
  const names = Object.keys(definitions);
  if (names.length === 0 && !allowEmpty) throw new InvalidPolicyError('roles must define at least one role');
  const ownRules = new Map<string, Rule[]>();
  const ownDenies = new Map<string, Rule[]>();
  for (const name of names) {
    checkRoleName(name);
    const definition = definitions[name] as RoleDefinition;
    const rules: Rule[] = [];
    for (const entry of definition.permissions ?? []) {
      const pattern = typeof entry === 'string' ? entry : entry?.permission;
      const when = typeof entry === 'string' ? undefined : conditionOf(name, entry, conditions);
      checkPattern(name, pattern);
      rules.push({ pattern: normalize(pattern as string), from: name, when });
    }
    if (definition.deny !== undefined && !Array.isArray(definition.deny)) {
      throw new InvalidPolicyError(`role "${name}": deny must be an array of permission patterns`);
    }
    const denies: Rule[] = [];
    for (const pattern of definition.deny ?? []) {
      checkPattern(name, pattern);
      denies.push({ pattern: normalize(pattern), from: name, when: undefined });
    }
    for (const parent of definition.inherits ?? []) {
      // Own keys only: `constructor` or `toString` are not roles.
      if (typeof parent !== 'string' || !Object.hasOwn(definitions, parent))
        throw new InvalidPolicyError(`role "${name}" inherits unknown role "${parent}"`);
    }
    ownRules.set(name, rules);
    ownDenies.set(name, denies);
  }

  const flatten = flattener(definitions, ownRules);
  const flattenDenies = flattener(definitions, ownDenies);
  const compiled = new Map<string, CompiledRole>();
  for (const name of names) {
    const denies = flattenDenies(name);
    compiled.set(name, {
      name,
      ...indexRules(flatten(name)),
      denies: denies.length > 0 ? indexRules(denies) : undefined,
    });
  }
  return compiled;
}

/** A role's rules with those of every role it inherits (unknown roles already refused; cycles refused here). */
function flattener(definitions: RoleDefinitions, own: ReadonlyMap<string, Rule[]>): (name: string) => Rule[] {
  const flattened = new Map<string, Rule[]>();
  const visiting: string[] = [];
  const flatten = (name: string): Rule[] => {
    const done = flattened.get(name);
    if (done) return done;
    if (visiting.includes(name))
      throw new InvalidPolicyError(`role inheritance cycle: ${[...visiting, name].join(' -> ')}`);
    visiting.push(name);
    const rules = [...(own.get(name) ?? [])];
    for (const parent of definitions[name]?.inherits ?? []) rules.push(...flatten(parent));
    visiting.pop();
    flattened.set(name, rules);
    return rules;
  };
  return flatten;
}

function indexRules(rules: readonly Rule[]): RuleIndex {
  const index: RuleIndex = { exact: new Map(), anyAction: new Map(), anyResource: new Map(), everything: [] };
  for (const rule of rules) {
    const [resource, action] = rule.pattern.split(':') as [string, string];
    if (resource === '*' && action === '*') index.everything.push(rule);
    else if (action === '*') push(index.anyAction, resource, rule);
    else if (resource === '*') push(index.anyResource, action, rule);
    else push(index.exact, rule.pattern, rule);
  }
  return index;
}

/**
 * The first rule of a role that matches a concrete permission and passes `accept`, most
 * specific first, without building a list (the hot path of every check).
 */
export function findRule(
  role: RuleIndex,
  permission: string,
  resource: string,
  action: string,
  accept: (rule: Rule) => boolean,
): Rule | undefined {
  // Four plain lookups, no list built: this runs on every check.
  return (
    firstAccepted(role.exact.get(permission), accept) ??
    firstAccepted(role.anyAction.get(resource), accept) ??
    firstAccepted(role.anyResource.get(action), accept) ??
    firstAccepted(role.everything, accept)
  );
}

function firstAccepted(rules: Rule[] | undefined, accept: (rule: Rule) => boolean): Rule | undefined {
  if (rules === undefined) return undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as Rule;
    if (accept(rule)) return rule;
  }
  return undefined;
}

/** The rules of a role that match a concrete permission, most specific first. */
export function matchingRules(role: RuleIndex, permission: string, resource: string, action: string): Rule[] {
  const exact = role.exact.get(permission);
  const anyAction = role.anyAction.get(resource);
  const anyResource = role.anyResource.get(action);
  if (!anyAction && !anyResource && role.everything.length === 0) return exact ?? [];
  return [...(exact ?? []), ...(anyAction ?? []), ...(anyResource ?? []), ...role.everything];
}

/** The function of a conditional permission: its own `when`, or the registered condition it names. */
function conditionOf(
  role: string,
  entry: ConditionalPermission | NamedConditionPermission | null | undefined,
  conditions: Conditions,
): Condition {
  const when = (entry as Partial<ConditionalPermission> | null | undefined)?.when;
  const named = (entry as Partial<NamedConditionPermission> | null | undefined)?.condition;
  if (when !== undefined && named !== undefined) {
    throw new InvalidPolicyError(`role "${role}": a conditional permission has a "when" or a "condition", not both`);
  }
  if (named !== undefined) {
    const condition = typeof named === 'string' && Object.hasOwn(conditions, named) ? conditions[named] : undefined;
    if (condition === undefined) {
      const known = Object.keys(conditions);
      throw new InvalidPolicyError(
        `role "${role}": unknown condition ${JSON.stringify(named)} (registered: ${known.length > 0 ? known.join(', ') : 'none'})`,
      );
    }
    return condition;
  }
  if (typeof when !== 'function') {
    throw new InvalidPolicyError(
      `role "${role}": a conditional permission needs a "when" function or a "condition" name`,
    );
  }
  return when;
}

function checkPattern(role: string, pattern: unknown): void {
  if (pattern === '*') return;
  const parts = typeof pattern === 'string' ? pattern.split(':') : [];
  const ok = parts.length === 2 && parts.every((part) => part === '*' || SEGMENT.test(part));
  if (!ok)
    throw new InvalidPolicyError(
      `role "${role}": malformed permission ${JSON.stringify(pattern)} (expected "resource:action", "*" allowed per part)`,
    );
}

function normalize(pattern: string): string {
  return pattern === '*' ? '*:*' : pattern;
}

function push(map: Map<string, Rule[]>, key: string, rule: Rule): void {
  const list = map.get(key);
  if (list) list.push(rule);
  else map.set(key, [rule]);
}
