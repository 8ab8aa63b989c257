import { wholeNumberOption } from '@switchboard/hot-path';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';

/**
 * What one GraphQL operation costs, in points of a rate limit: called with the parsed document,
 * the request's variables and its operation name (when the document holds several operations).
 * Return a number >= 0; fractions are rounded up.
 */
export type OperationCostFunction = (
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>>,
  operationName?: string | null,
) => number;

/** Options of {@link createOperationCost}. */
export interface OperationCostOptions {
  /**
   * Arguments that say how many items a list field returns: a field given one of them costs its
   * selections that many times.
   * @default ['first', 'last', 'limit']
   */
  listArguments?: readonly string[];
  /**
   * The largest count one list argument can stand for (a larger or unknown count is capped to
   * it, so a client cannot make a document cost more than the server would ever return).
   * @default 100
   */
  maxListSize?: number;
}

/** How the cost of one selection set is made: a fixed part, plus parts whose size is per request. */
interface Plan {
  /** Fields counted once each, and subtrees whose count does not depend on variables. */
  fixed: number;
  /** Subtrees counted a number of times known only once the variables are. */
  scaled: Scaled[];
}

interface Scaled {
  /** The count given by literal arguments (0 when there are none). */
  literal: number;
  /** Variables given to list arguments: the count is the largest of these and `literal`. */
  variables: string[];
  plan: Plan;
}

interface CompiledOperation {
  plan: Plan;
  /** Counts used when a list variable is absent: its literal default, else 1. */
  defaults: Map<string, number>;
}

interface CompiledDocument {
  operations: Map<string, CompiledOperation>;
}

// Costs grow as products of list sizes; past this they are all "more than any budget".
const MAX_COST = Number.MAX_SAFE_INTEGER;
const EMPTY: Plan = Object.freeze({ fixed: 0, scaled: [] }) as Plan;

/**
 * The default cost of an operation, as a function for `useOperationRateLimit({ cost })`: a count
 * of the fields the operation selects, with list multipliers.
 *
 * - Every field costs 1; introspection fields (`__schema`, `__type`, `__typename`) too.
 * - A field given a list argument (`first`, `last` or `limit` by default; a literal or a
 *   variable) costs `1 + n × (the cost of its selections)`, `n` being the argument's value
 *   capped to `maxListSize` (the largest of them if several are given). An absent or null
 *   variable counts as its literal default, else 1.
 * - A fragment counts as its selections, at most once per selection set (spreading the same
 *   fragment twice selects the same fields once); inline fragments as their selections.
 * - `@skip` / `@include` are ignored: the cost is an upper bound of the fields a response holds.
 *
 * Each document is analysed once: the analysis is kept in a `WeakMap` keyed by the document
 * object (yoga's parse cache hands back the same object for the same query text), so an entry
 * lives as long as its document does; later requests only multiply the variable list sizes in.
 * The analysis and each evaluation take time linear in the document's size.
 *
 * @example
 * const cost = createOperationCost({ listArguments: ['first', 'last'], maxListSize: 50 });
 * cost(parse('{ chats(first: 10) { id title } }'), {}); // 1 + 10 × 2 = 21
 */
export function createOperationCost(options: OperationCostOptions = {}): OperationCostFunction {
  const listArguments = new Set(options.listArguments ?? ['first', 'last', 'limit']);
  for (const name of listArguments) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(`listArguments must be argument names, got ${JSON.stringify(name)}`);
    }
  }
  const maxListSize = wholeNumberOption('createOperationCost', 'maxListSize', options.maxListSize ?? 100, { min: 1 });
  const compiled = new WeakMap<DocumentNode, CompiledDocument>();
  const settings: Settings = { listArguments, maxListSize };

  return (document, variables, operationName) => {
    let entry = compiled.get(document);
    if (entry === undefined) {
      entry = compileDocument(document, settings);
      compiled.set(document, entry);
    }
    const chosen =
      operationName != null
        ? entry.operations.get(operationName)
        : entry.operations.size === 1
          ? entry.operations.values().next().value
          : undefined;
    if (chosen) return Math.max(1, operationCost(chosen, variables, maxListSize));
    // An unknown or unnamed choice among several operations fails to execute; until then, the
    // costliest one stands for it.
    let cost = 0;
    for (const operation of entry.operations.values()) {
      cost = Math.max(cost, operationCost(operation, variables, maxListSize));
    }
    return Math.max(1, cost);
  };
}

function operationCost(
  operation: CompiledOperation,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  maxListSize: number,
): number {
  const { plan } = operation;
  // Most documents take no list size from variables: their cost was settled by the analysis.
  if (plan.scaled.length === 0) return plan.fixed;
  return evaluate(plan, variables ?? {}, operation.defaults, maxListSize, new Map());
}

interface Settings {
  listArguments: ReadonlySet<string>;
  maxListSize: number;
}

function compileDocument(document: DocumentNode, settings: Settings): CompiledDocument {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operationNodes: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === 'FragmentDefinition') fragments.set(definition.name.value, definition);
    else if (definition.kind === 'OperationDefinition') operationNodes.push(definition);
  }
  // Shared by every use of a fragment, so a fragment spread many times is analysed once.
  const fragmentPlans = new Map<string, Plan>();
  const inProgress = new Set<string>();

  const fragmentPlan = (name: string): Plan => {
    const known = fragmentPlans.get(name);
    if (known) return known;
    const definition = fragments.get(name);
    // Unknown or cyclic spreads fail validation; here they simply add nothing.
    if (!definition || inProgress.has(name)) return EMPTY;
    inProgress.add(name);
    const plan = compileSelections(definition.selectionSet);
    inProgress.delete(name);
    fragmentPlans.set(name, plan);
    return plan;
  };

  const compileSelections = (selectionSet: SelectionSetNode): Plan => {
    let fixed = 0;
    const scaled: Scaled[] = [];
    const include = (child: Plan, times: number) => {
      if (times === 0) return;
      if (child.scaled.length === 0) fixed = Math.min(MAX_COST, fixed + times * child.fixed);
      // By reference, never copied: copying would grow with every level of nested fragments.
      else scaled.push({ literal: times, variables: [], plan: child });
    };
    const spread = new Set<string>();
    for (const selection of selectionSet.selections) {
      if (selection.kind === 'Field') {
        fixed = Math.min(MAX_COST, fixed + 1);
        if (!selection.selectionSet) continue;
        const child = compileSelections(selection.selectionSet);
        const size = listSize(selection, settings);
        if (size === undefined) include(child, 1);
        else if (size.variables.length === 0) include(child, size.literal);
        else if (child.fixed > 0 || child.scaled.length > 0) scaled.push({ ...size, plan: child });
      } else if (selection.kind === 'InlineFragment') {
        include(compileSelections(selection.selectionSet), 1);
      } else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        include(fragmentPlan(selection.name.value), 1);
      }
    }
    return { fixed, scaled };
  };

  const operations = new Map<string, CompiledOperation>();
  for (const operation of operationNodes) {
    const defaults = new Map<string, number>();
    for (const definition of operation.variableDefinitions ?? []) {
      const literal = definition.defaultValue ? literalSize(definition.defaultValue, settings.maxListSize) : undefined;
      defaults.set(definition.variable.name.value, literal ?? 1);
    }
    operations.set(operation.name?.value ?? '', { plan: compileSelections(operation.selectionSet), defaults });
  }
  return { operations };
}

/** The list size a field asks for, or undefined when it has no list argument. */
function listSize(field: FieldNode, settings: Settings): { literal: number; variables: string[] } | undefined {
  let found = false;
  let literal = 0;
  const variables: string[] = [];
  for (const argument of field.arguments ?? []) {
    if (!settings.listArguments.has(argument.name.value)) continue;
    found = true;
    if (argument.value.kind === 'Variable') variables.push(argument.value.name.value);
    else literal = Math.max(literal, literalSize(argument.value, settings.maxListSize) ?? 1);
  }
  return found ? { literal, variables } : undefined;
}

function literalSize(value: ValueNode, maxListSize: number): number | undefined {
  if (value.kind !== 'IntValue' && value.kind !== 'FloatValue') return undefined;
  return clampSize(Number(value.value), maxListSize);
}

function clampSize(value: number, maxListSize: number): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  return Math.min(maxListSize, Math.max(0, Math.ceil(value)));
}

function evaluate(
  plan: Plan,
  variables: Readonly<Record<string, unknown>>,
  defaults: Map<string, number>,
  maxListSize: number,
  memo: Map<Plan, number>,
): number {
  if (plan.scaled.length === 0) return plan.fixed;
  // A fragment's plan can be reached along many paths: each is evaluated once per request.
  const known = memo.get(plan);
  if (known !== undefined) return known;
  let total = plan.fixed;
  for (const part of plan.scaled) {
    let size = part.literal;
    for (const name of part.variables) {
      const value = variables[name];
      const given = typeof value === 'number' ? clampSize(value, maxListSize) : undefined;
      size = Math.max(size, given ?? (value === undefined ? (defaults.get(name) ?? 1) : 1));
    }
    if (size === 0) continue;
    total = Math.min(MAX_COST, total + size * evaluate(part.plan, variables, defaults, maxListSize, memo));
  }
  memo.set(plan, total);
  return total;
}
