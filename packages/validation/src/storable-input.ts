import type {
  ASTNode,
  DirectiveNode,
  DocumentNode,
  FragmentDefinitionNode,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import type { ValidationIssue } from './errors.ts';
import { findUnstorableCharacter } from './text.ts';

/** What {@link findUnstorableInput} found: the issues, and the document nodes they come from. */
export interface UnstorableInput {
  issues: ValidationIssue[];
  /** The variable definitions and string literals at fault (for the error's `locations`). */
  nodes: ASTNode[];
}

// Enough to show a client what is wrong; a request full of NULs is not worth listing.
const MAX_ISSUES = 20;

type Path = readonly (string | number)[];

/** A path built while walking variables, materialized only for an issue (deep input stays cheap). */
interface PathLink {
  parent: PathLink | undefined;
  key: string | number;
}

/**
 * Every string of an operation's input that a database cannot store (NUL, lone surrogates; see
 * `findUnstorableCharacter`), with its path, or undefined when there is none:
 *
 * - in `variables` (the operation's declared variables, recursively through lists and input
 *   objects, object keys included): the path inside `variables`, e.g. `['input', 'content']`;
 * - in literals of the document (field and directive arguments, variable defaults): the
 *   response keys of the fields down to the argument, then the argument and the keys inside
 *   it, e.g. `['sendMessage', 'input', 'content']`; a directive argument reads `'@name'`.
 */
export function findUnstorableInput(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  operationName?: string | null,
): UnstorableInput | undefined {
  const found: UnstorableInput = { issues: [], nodes: [] };
  const report = (message: string, path: Path, node: ASTNode) => {
    if (found.issues.length >= MAX_ISSUES) return;
    found.issues.push({ path, message });
    found.nodes.push(node);
  };

  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === 'FragmentDefinition') fragments.set(definition.name.value, definition);
    else if (definition.kind === 'OperationDefinition') operations.push(definition);
  }
  const named = operationName == null ? undefined : operations.find((op) => op.name?.value === operationName);
  // Each fragment once, at its first use: a literal is one place in the document, reported once.
  const visited = new Set<string>();

  const literal = (value: ValueNode, path: Path): void => {
    if (value.kind === 'StringValue') {
      const problem = findUnstorableCharacter(value.value);
      if (problem) report(problem.message, path, value);
    } else if (value.kind === 'ListValue') {
      value.values.forEach((item, index) => {
        literal(item, [...path, index]);
      });
    } else if (value.kind === 'ObjectValue') {
      for (const field of value.fields) literal(field.value, [...path, field.name.value]);
    }
  };
  const directives = (list: readonly DirectiveNode[] | undefined, path: Path) => {
    for (const directive of list ?? []) {
      for (const argument of directive.arguments ?? []) {
        literal(argument.value, [...path, `@${directive.name.value}`, argument.name.value]);
      }
    }
  };
  const selections = (selectionSet: SelectionSetNode, path: Path): void => {
    for (const selection of selectionSet.selections) {
      directives(selection.directives, path);
      if (selection.kind === 'Field') {
        const fieldPath = [...path, selection.alias?.value ?? selection.name.value];
        for (const argument of selection.arguments ?? []) literal(argument.value, [...fieldPath, argument.name.value]);
        if (selection.selectionSet) selections(selection.selectionSet, fieldPath);
      } else if (selection.kind === 'InlineFragment') {
        selections(selection.selectionSet, path);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) {
          directives(fragment.directives, path);
          selections(fragment.selectionSet, path);
        }
      }
    }
  };

  for (const operation of named ? [named] : operations) {
    directives(operation.directives, []);
    for (const definition of operation.variableDefinitions ?? []) {
      const name = definition.variable.name.value;
      if (variables != null && Object.hasOwn(variables, name)) {
        variable(variables[name], name, definition.variable, report);
      } else if (definition.defaultValue) {
        literal(definition.defaultValue, [name]);
      }
    }
    selections(operation.selectionSet, []);
  }
  return found.issues.length > 0 ? found : undefined;
}

/** Walks one variable's value without recursion (JSON nests deeper than the call stack). */
function variable(
  value: unknown,
  name: string,
  node: ASTNode,
  report: (message: string, path: Path, node: ASTNode) => void,
): void {
  const stack: { value: unknown; at: PathLink }[] = [{ value, at: { parent: undefined, key: name } }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: current, at } = next;
    if (typeof current === 'string') {
      const problem = findUnstorableCharacter(current);
      if (problem) report(problem.message, pathOf(at), node);
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        stack.push({ value: current[index], at: { parent: at, key: index } });
      }
    } else if (current !== null && typeof current === 'object') {
      const keys = Object.keys(current);
      for (const key of keys) {
        // A key can reach storage too (a JSON scalar's object is stored as it came).
        const problem = findUnstorableCharacter(key);
        if (problem) report(`keys ${problem.message}`, pathOf(at), node);
      }
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index] as string;
        stack.push({ value: (current as Record<string, unknown>)[key], at: { parent: at, key } });
      }
    }
  }
}

function pathOf(link: PathLink): Path {
  const path: (string | number)[] = [];
  for (let at: PathLink | undefined = link; at !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}
