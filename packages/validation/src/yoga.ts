/**
 * @switchboard/validation/yoga: the plugin that turns input errors into GraphQL errors a client
 * can act on (through the table of `@switchboard/validation/graphql`), and the GraphQL hardening
 * recipe (depth, cost, alias, token and directive limits with graphql-armor,
 * and no input a database cannot store).
 * Peers: `graphql`, `graphql-yoga`, and `@escape.tech/graphql-armor` for {@link hardenedPlugins}.
 * @packageDocumentation
 */
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { wholeNumberOption } from '@switchboard/hot-path';
import type { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';
import { createGraphQLError, handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { useRequestBodyLimit } from './body-limit.ts';
import { isValidationError, ValidationError } from './errors.ts';
import { toGraphQLError as graphqlToGraphQLError, type ValidationErrorsOptions } from './graphql.ts';
import { findUnstorableInput } from './storable-input.ts';

export type { BadUserInputExtensions, ValidationErrorsOptions } from './graphql.ts';
export { useRequestBodyLimit };

/**
 * @deprecated Import `toGraphQLError` from `@switchboard/validation/graphql` (needs only
 * `graphql`); this re-export goes away in the next minor release.
 */
export const toGraphQLError: typeof graphqlToGraphQLError = graphqlToGraphQLError;

function mapErrors(result: ExecutionResult, options: ValidationErrorsOptions): ExecutionResult | undefined {
  const errors = result.errors;
  if (!errors?.some((error) => isValidationError(error.originalError) || isValidationError(error))) return undefined;
  return {
    ...result,
    errors: errors.map((error) => {
      const original = isValidationError(error) ? error : error.originalError;
      return isValidationError(original) ? graphqlToGraphQLError(original, { ...options, from: error }) : error;
    }),
  };
}

/**
 * yoga / envelop plugin: a {@link ValidationError} thrown by a resolver (typically from
 * `parseInput`) reaches the client as `{ message, path, extensions: { code: 'BAD_USER_INPUT',
 * issues } }` with HTTP 400, instead of being masked as "Unexpected error.". Other errors are
 * left to yoga's masking. Works for queries, mutations, subscriptions and incremental delivery.
 *
 * @example
 * createYoga({ schema, plugins: [useValidationErrors(), ...hardenedPlugins()] });
 */
export function useValidationErrors(options: ValidationErrorsOptions = {}): Plugin {
  const onResult = ({ result, setResult }: { result: ExecutionResult; setResult: (r: ExecutionResult) => void }) => {
    const mapped = mapErrors(result, options);
    if (mapped) setResult(mapped);
  };
  return {
    onExecute: () => ({
      onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, onResult),
    }),
    onSubscribe: () => ({
      onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, onResult),
      // Thrown while the event stream runs (e.g. parseInput in an async generator).
      onSubscribeError: ({ error, setError }) => {
        const original = isValidationError(error)
          ? error
          : (error as { originalError?: unknown } | null)?.originalError;
        if (isValidationError(original)) {
          setError(
            graphqlToGraphQLError(original, {
              ...options,
              ...(original === error ? {} : { from: error as GraphQLError }),
            }),
          );
        }
      },
    }),
  };
}

/**
 * yoga / envelop plugin: before an operation runs (a query or mutation when it executes, a
 * subscription when it starts), checks every string of its input, in the variables and in the
 * document's literal arguments, recursively through lists and input objects, for characters a
 * database cannot store: NUL (U+0000), which PostgreSQL's text types refuse, and lone UTF-16
 * surrogates, which have no UTF-8 form. Such an operation does not run; it gets a
 * `BAD_USER_INPUT` error naming each place, instead of the database
 * failing mid-resolver and the client seeing "Unexpected error.":
 * `{ message, locations, extensions: { code: 'BAD_USER_INPUT', issues: [{ path, message }] } }`
 * with HTTP 400. A path is the one inside `variables` (`['input', 'content']`) or, for a
 * literal, the fields' response keys, the argument and the keys inside it
 * (`['sendMessage', 'input', 'content']`). Part of {@link hardenedPlugins}.
 *
 * @example
 * createYoga({ schema, plugins: [useStorableInput(), useValidationErrors()] });
 */
export function useStorableInput(options: ValidationErrorsOptions = {}): Plugin {
  const check = (args: ExecutionArgs, stop: (result: ExecutionResult) => void) => {
    const found = findUnstorableInput(
      args.document,
      args.variableValues as Record<string, unknown> | null | undefined,
      args.operationName,
    );
    if (!found) return;
    const error = new ValidationError(found.issues);
    // Carries the locations of the variables and literals at fault.
    const from = createGraphQLError(error.message, { nodes: found.nodes });
    stop({ errors: [graphqlToGraphQLError(error, { ...options, from })] });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}

type ArmorConfig = NonNullable<ConstructorParameters<typeof EnvelopArmor>[0]>;

/** Limits of {@link hardenedPlugins}; `false` turns one off. */
export interface HardeningOptions {
  /** Deepest selection nesting (introspection excluded). @default 10 */
  maxDepth?: number | false;
  /**
   * Highest query cost (graphql-armor's model: 2 per object, 1 per scalar, multiplied by a
   * factor of 1.5 per depth level). @default 5000
   */
  maxCost?: number | false;
  /** Most aliases in one operation (aliases multiply work cheaply). @default 15 */
  maxAliases?: number | false;
  /** Most lexical tokens in a document (bounds parser work before anything else). @default 1000 */
  maxTokens?: number | false;
  /** Most directives in one operation. @default 50 */
  maxDirectives?: number | false;
  /** Hide "Did you mean ...?" field suggestions (they map a private schema). @default true */
  blockFieldSuggestions?: boolean;
  /** Say the limit in the error ("Token limit of 1000 exceeded"). @default true */
  exposeLimits?: boolean;
  /**
   * Refuse operations whose input holds a character a database cannot store (NUL, lone
   * surrogates) with `BAD_USER_INPUT` and the field's path, before they run: see
   * {@link useStorableInput}. @default true
   */
  storableInput?: boolean;
  /** Anything else for graphql-armor, merged over the above. */
  armor?: ArmorConfig;
}

// `false` turns a limit off; a number must be a whole one.
const limit = (name: string, value: number | false | undefined, fallback: number): number | false => {
  const resolved = value ?? fallback;
  return resolved === false ? false : wholeNumberOption('hardenedPlugins', name, resolved, { min: 1 });
};

/**
 * The GraphQL hardening recipe as yoga plugins, built on
 * [graphql-armor](https://github.com/Escape-Technologies/graphql-armor): limits on depth,
 * cost, aliases, tokens and directives, and no field suggestions; plus
 * {@link useStorableInput} (input a database cannot store is refused). A refused operation is
 * never executed; it gets a GraphQL error with `extensions.code` `GRAPHQL_VALIDATION_FAILED`
 * (`GRAPHQL_PARSE_FAILED` for the token limit) and, per GraphQL over HTTP, status 400 for
 * clients accepting `application/graphql-response+json` (200 for plain `application/json`).
 * The rest of the recipe is yoga's own options, see {@link hardenedYogaOptions}.
 *
 * @example
 * createYoga({ schema, plugins: [...hardenedPlugins({ maxDepth: 8 }), useValidationErrors()] });
 */
export function hardenedPlugins(options: HardeningOptions = {}): Plugin[] {
  const exposeLimits = options.exposeLimits ?? true;
  // graphql-armor throws out of the validation rule by default, which yoga reports as a bare
  // error (HTTP 200, no code); reported through the validation context instead, a rejection is
  // an ordinary validation error: GRAPHQL_VALIDATION_FAILED, HTTP 400 per GraphQL over HTTP.
  const report = {
    propagateOnRejection: false,
    onReject: [
      (context: { reportError(error: GraphQLError): void } | null, error: GraphQLError) => {
        if (context) context.reportError(error);
        else throw error;
      },
    ],
  };
  const entry = (name: string, value: number | false | undefined, fallback: number, key: 'n' | 'maxCost') => {
    const resolved = limit(name, value, fallback);
    return resolved === false ? { enabled: false } : { enabled: true, [key]: resolved, exposeLimits, ...report };
  };
  const config: ArmorConfig = {
    maxDepth: { ...entry('maxDepth', options.maxDepth, 10, 'n'), ignoreIntrospection: true },
    costLimit: { ...entry('maxCost', options.maxCost, 5000, 'maxCost'), ignoreIntrospection: true },
    maxAliases: entry('maxAliases', options.maxAliases, 15, 'n'),
    maxTokens: entry('maxTokens', options.maxTokens, 1000, 'n'),
    maxDirectives: entry('maxDirectives', options.maxDirectives, 50, 'n'),
    blockFieldSuggestion: { enabled: options.blockFieldSuggestions ?? true },
  };
  for (const [key, value] of Object.entries(options.armor ?? {})) {
    const k = key as keyof ArmorConfig;
    (config as Record<string, unknown>)[k] = { ...(config[k] as object | undefined), ...(value as object) };
  }
  // graphql-armor types its plugins with its own copy of @envelop/core; they are yoga plugins.
  const plugins = new EnvelopArmor(config).protect().plugins as unknown as Plugin[];
  return options.storableInput === false ? plugins : [...plugins, useStorableInput()];
}

/** Options of {@link hardenedYogaOptions}. */
export interface HardenedYogaOptions extends HardeningOptions {
  /**
   * Largest request body yoga reads, in bytes: checked against `Content-Length` and counted
   * while streaming a chunked body; over it, 413. yoga's own default is 25 MB.
   * @default 100_000
   */
  maxRequestBodySize?: number;
}

/**
 * The whole recipe as options to spread into `createYoga`: the {@link hardenedPlugins}, a
 * request body limit (`maxRequestBodySize`, a yoga server option: limits apply before any
 * parsing), masked errors (yoga's default: unexpected errors become "Unexpected error." without
 * a stack trace; keep it on in production) and no batching (one operation per request, so the
 * limits above cannot be multiplied). Put your own plugins in `plugins` after these.
 *
 * @example
 * const hardened = hardenedYogaOptions({ maxRequestBodySize: 64_000 });
 * createYoga({ schema, ...hardened, plugins: [...hardened.plugins, useValidationErrors(), useAuth(...)] });
 */
export function hardenedYogaOptions(options: HardenedYogaOptions = {}): {
  plugins: Plugin[];
  /** `false`: yoga's own limit is off, {@link useRequestBodyLimit} (in `plugins`) applies it. */
  maxRequestBodySize: false;
  maskedErrors: true;
  batching: false;
} {
  const limit = wholeNumberOption('hardenedYogaOptions', 'maxRequestBodySize', options.maxRequestBodySize ?? 100_000, {
    min: 1,
  });
  return {
    plugins: [...hardenedPlugins(options), useRequestBodyLimit(limit)],
    maxRequestBodySize: false,
    maskedErrors: true,
    batching: false,
  };
}
