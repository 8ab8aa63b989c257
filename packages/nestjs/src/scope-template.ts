/**
 * Scope templates of `@RequirePermission`: `'chat:{params.chatId}'` names where each value comes
 * from, and nothing else is looked at. A guard must authorize the very id the handler acts on:
 * falling back from `params` to `body` (say) would let a client pass one id to the guard and
 * another to the handler.
 */
import type { CallSite } from './call-site.ts';

/** Where a value may come from: an HTTP route's `params`, `query`, `body`, or a resolver's `args`. */
export type ScopeSource = 'params' | 'query' | 'body' | 'args';
const SOURCES: ReadonlySet<string> = new Set<ScopeSource>(['params', 'query', 'body', 'args']);
const PLACEHOLDER = /\{([^{}]*)\}/g;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
// An id, not a scope fragment: no ':' '/' '*' or spaces that could reach another scope's shape.
const SAFE_VALUE = /^[A-Za-z0-9._~-]{1,200}$/;

interface Placeholder {
  source: ScopeSource;
  path: string[];
  text: string;
}

export interface ScopeTemplate {
  readonly template: string;
  readonly parts: readonly (string | Placeholder)[];
}

/** Parses a template; any mistake is a `TypeError` at the decorator, i.e. when the app starts. */
export function parseScopeTemplate(template: string): ScopeTemplate {
  if (typeof template !== 'string' || template.length === 0)
    throw new TypeError(`RequirePermission: scope must be a non-empty string, got ${JSON.stringify(template)}`);
  const parts: (string | Placeholder)[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(template.slice(last, match.index));
    const text = match[1] as string;
    const [source, ...path] = text.split('.');
    if (source === undefined || !SOURCES.has(source))
      throw new TypeError(
        `RequirePermission: scope ${JSON.stringify(template)}: {${text}} must start with params., query., body. or args.`,
      );
    if (path.length === 0 || !path.every((segment) => IDENTIFIER.test(segment)))
      throw new TypeError(
        `RequirePermission: scope ${JSON.stringify(template)}: {${text}} names no field after ${source}`,
      );
    parts.push({ source: source as ScopeSource, path, text });
    last = match.index + match[0].length;
  }
  const rest = template.slice(last);
  if (/[{}]/.test(rest) || parts.some((part) => typeof part === 'string' && /[{}]/.test(part)))
    throw new TypeError(`RequirePermission: scope ${JSON.stringify(template)} has an unbalanced brace`);
  if (rest.length > 0) parts.push(rest);
  return { template, parts };
}

/** The scope for this call, or the reason it cannot be formed (a 400 for the client). */
export function resolveScope(
  scope: ScopeTemplate,
  site: CallSite,
): { ok: true; scope: string } | { ok: false; message: string } {
  let out = '';
  for (const part of scope.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = valueAt(rootOf(part.source, site, scope.template), part.path);
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof text !== 'string' || !SAFE_VALUE.test(text))
      return {
        ok: false,
        message:
          text === undefined || text === null
            ? `${part.path.join('.')} is required`
            : `${part.path.join('.')} must be an id (letters, digits, '.', '_', '~', '-')`,
      };
    out += text;
  }
  return { ok: true, scope: out };
}

function rootOf(source: ScopeSource, site: CallSite, template: string): unknown {
  if (source === 'args') {
    if (site.kind === 'graphql') return site.args;
  } else if (site.kind === 'http') {
    return site.request[source];
  }
  // The decorator's author picked a source this kind of handler does not have: a server bug.
  throw new TypeError(
    `RequirePermission: scope ${JSON.stringify(template)} reads ${source}, which a ${site.kind === 'graphql' ? 'GraphQL resolver' : site.kind === 'http' ? 'HTTP route' : `${site.kind} handler`} does not have (${source === 'args' ? 'args are for resolvers' : `${source} is for HTTP routes; resolvers use args`})`,
  );
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
