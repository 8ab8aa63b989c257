import * as v from 'valibot';
import { ValidationError, type ValidationIssue } from './errors.ts';

type AnySchema = v.BaseSchema<unknown, unknown, v.BaseIssue<unknown>>;
type AnySchemaAsync = v.BaseSchemaAsync<unknown, unknown, v.BaseIssue<unknown>> | AnySchema;

// valibot's own wording for a missing key ('Invalid key: Expected "x" but received undefined')
// is for developers; a client shows this next to the field.
const messageOf = (issue: v.BaseIssue<unknown>) =>
  issue.kind === 'schema' && issue.received === 'undefined' && issue.message.startsWith('Invalid key:')
    ? 'is required'
    : issue.message;

/** valibot issues as `{ path, message }`, nested issues (unions) flattened to their leaves. */
export function toValidationIssues(issues: readonly v.BaseIssue<unknown>[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const path = (issue.path ?? []).map((item) => {
      const key = (item as { key?: unknown }).key;
      return typeof key === 'number' ? key : String(key);
    });
    // Among the members of a union, each path keeps one message (the first, per valibot's order).
    const id = `${JSON.stringify(path)}\u0000${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ path, message: messageOf(issue) });
  }
  return out;
}

/**
 * Validates `value` against a valibot schema and returns the typed, transformed output (trimmed,
 * normalized, sanitized, with defaults), or throws {@link ValidationError} listing every issue
 * with its path.
 *
 * @example
 * const input = parseInput(v.object({ content: messageContentSchema(), chatId: uuidSchema }), args.input);
 * input.content; // sanitized HTML, at most 4000 code points
 */
export function parseInput<const TSchema extends AnySchema>(schema: TSchema, value: unknown): v.InferOutput<TSchema> {
  let result: v.SafeParseResult<TSchema>;
  try {
    result = v.safeParse(schema, value);
  } catch (error) {
    throw notASchema('parseInput', schema) ?? error;
  }
  if (result.success) return result.output;
  throw new ValidationError(toValidationIssues(result.issues));
}

// Checked only once valibot has thrown, so a valid schema costs nothing extra per parse.
function notASchema(caller: string, schema: unknown): TypeError | undefined {
  const run = (schema as { '~run'?: unknown } | null | undefined)?.['~run'];
  if (typeof run === 'function') return undefined;
  return new TypeError(
    `${caller}: \`schema\` must be a valibot schema (v.object(...), v.string(), ...), got ${schema === null ? 'null' : typeof schema}`,
  );
}

/** {@link parseInput} for schemas with async checks (`v.pipeAsync`, `v.checkAsync`). */
export async function parseInputAsync<const TSchema extends AnySchemaAsync>(
  schema: TSchema,
  value: unknown,
): Promise<v.InferOutput<TSchema>> {
  let result: v.SafeParseResult<TSchema>;
  try {
    result = await v.safeParseAsync(schema, value);
  } catch (error) {
    throw notASchema('parseInputAsync', schema) ?? error;
  }
  if (result.success) return result.output;
  throw new ValidationError(toValidationIssues(result.issues));
}
