/** What replaces a redacted value. */
export const DEFAULT_CENSOR = '[redacted]';

// Credentials a request carries in its headers. Node lowercases the names of incoming headers;
// the Title-Case spellings catch objects built by hand or by HTTP clients (axios's
// `config.headers.Authorization` inside a logged error).
const HEADER_NAMES = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'Authorization',
  'Proxy-Authorization',
  'Cookie',
  'Set-Cookie',
  'X-Api-Key',
];

// `headers` at the top, one level down (`req.headers`, `request.headers`, `res.headers`) and two
// (`http.request.headers` of an ECS line, `err.config.headers`, `ctx.req.headers`).
const HEADER_CONTAINERS = ['headers', '*.headers', '*.*.headers'];

// Secrets by field name: as fields of the line, one level down (`input.password`,
// `user.token`) and in GraphQL variables, also inside an input object
// (`variables.input.password`) and under one more level (`graphql.variables.password`).
const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'deviceToken',
  'secret',
  'apiKey',
];
const SECRET_CONTAINERS = ['', '*.', 'variables.*.', '*.variables.', '*.variables.*.'];

/**
 * The paths every logger redacts unless told otherwise (`redact: { keepDefaults: false }`), in
 * pino's path syntax:
 * - the `authorization`, `proxy-authorization`, `cookie`, `set-cookie` and `x-api-key` headers
 *   (also Title-Case) under `headers`, `*.headers` and `*.*.headers`;
 * - `password`, `currentPassword`, `newPassword`, `token`, `accessToken`, `refreshToken`,
 *   `deviceToken`, `secret` and `apiKey` at the top of a line, one level down, and in GraphQL
 *   `variables` (directly, inside an input object, and one level further out).
 *
 * Matching is exact and case-sensitive: `AUTHORIZATION` or `Password` is not redacted. Node
 * lowercases incoming header names, so headers from `IncomingMessage` match; spell other shapes
 * out in `redact`. Deeper nesting than listed (a password three objects down, a token inside an
 * array, a nested object interpolated into the message with `%o`) is not covered either. The
 * logger applies this list in one walk over the line's first levels (pino's own redaction would
 * cost about a microsecond per wildcard path on every line); paths given in `redact` go to pino.
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze([
  ...HEADER_CONTAINERS.flatMap((container) => HEADER_NAMES.map((name) => `${container}["${name}"]`)),
  ...SECRET_CONTAINERS.flatMap((container) => SECRET_FIELDS.map((field) => `${container}${field}`)),
]);

/** `redact`, resolved once: our defaults (when kept) and pino's paths. */
export interface ResolvedRedaction {
  /** For pino's `redact`: the user's paths and the cheap part of the defaults. */
  paths: string[];
  censor: string;
  /** The defaults' wildcard part, applied by `redactDefaults`; undefined with `keepDefaults: false`. */
  defaults: PathTree | undefined;
}

/**
 * Checks the `redact` option. pino is handed the user's paths and the defaults that cost nothing
 * on lines without them (top-level names, which also cover objects interpolated into a message
 * with `%o`); the defaults' wildcard paths are applied by `redactDefaults` instead: pino 10's
 * redaction costs about a microsecond per wildcard-first path on every line (measured: the
 * default list through pino made a line ~50 times slower than no redaction), where one walk
 * over the line's first levels costs a fraction of that. Paths that pino cannot parse are
 * refused when pino compiles them (see `createLogger`).
 */
export function resolveRedaction(
  option: readonly string[] | { paths?: readonly string[]; censor?: string; keepDefaults?: boolean } | undefined,
): ResolvedRedaction {
  if (option !== undefined && !Array.isArray(option) && (option === null || typeof option !== 'object')) {
    throw new TypeError('createLogger: `redact` must be an array of paths or { paths?, censor?, keepDefaults? }');
  }
  const settings: { paths?: readonly string[]; censor?: string; keepDefaults?: boolean } =
    option === undefined ? {} : Array.isArray(option) ? { paths: option as readonly string[] } : (option as object);
  const paths = settings.paths ?? [];
  if (!Array.isArray(paths) || !paths.every((path) => typeof path === 'string' && path.trim() !== '')) {
    throw new TypeError('createLogger: `redact` paths must be non-empty strings (pino paths, e.g. "user.email")');
  }
  const censor = settings.censor ?? DEFAULT_CENSOR;
  if (typeof censor !== 'string') throw new TypeError('createLogger: `redact.censor` must be a string');
  const keepDefaults = settings.keepDefaults ?? true;
  if (typeof keepDefaults !== 'boolean') throw new TypeError('createLogger: `redact.keepDefaults` must be a boolean');
  const pinoPaths = keepDefaults ? [...SECRET_FIELDS, ...ERROR_HEADER_PATHS, ...paths] : [...paths];
  return {
    paths: [...new Set(pinoPaths)],
    censor,
    defaults: keepDefaults ? DEFAULT_TREE : undefined,
  };
}

/** Compiled paths: the names to censor at this level, and where to look further down. */
export interface PathTree {
  censor: Set<string>;
  children: Map<string, PathTree>;
  any: PathTree | undefined;
}

const newTree = (): PathTree => ({ censor: new Set(), children: new Map(), any: undefined });

function compile(paths: readonly string[]): PathTree {
  const root = newTree();
  for (const path of paths) {
    const segments = [...path.matchAll(/[^.[\]]+|\["([^"]*)"\]/g)].map((match) => match[1] ?? match[0]);
    let node = root;
    segments.forEach((segment, index) => {
      if (index === segments.length - 1) {
        node.censor.add(segment);
      } else if (segment === '*') {
        node.any ??= newTree();
        node = node.any;
      } else {
        let child = node.children.get(segment);
        if (child === undefined) {
          child = newTree();
          node.children.set(segment, child);
        }
        node = child;
      }
    });
  }
  return root;
}

const DEFAULT_TREE = compile(DEFAULT_REDACT_PATHS);

// An HTTP client's error keeps the request it sent (axios: `err.config.headers.Authorization`);
// pino's err serializer copies it into the line, after `redactDefaults` has run, so these go to
// pino (literal paths: they cost only on lines that have an `err`).
const ERROR_HEADER_PATHS = ['err', 'error'].flatMap((key) =>
  HEADER_NAMES.map((name) => `${key}.config.headers["${name}"]`),
);

// Plain objects and arrays only: a class instance (an Error, a socket, a Map) is left to its
// serializer, and copying it here would lose what it is.
function isWalkable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  try {
    if (Array.isArray(value)) return true;
    const prototype = Object.getPrototypeOf(value);
    return prototype === Object.prototype || prototype === null;
  } catch {
    // A revoked Proxy: its serializer (or pino) deals with it.
    return false;
  }
}

function redactIn(value: Record<string, unknown>, tree: PathTree, censor: string, owned: boolean): unknown {
  try {
    return walk(value, tree, censor, owned);
  } catch {
    // A Proxy or a getter that throws: what cannot be looked into cannot be shown either.
    return censor;
  }
}

function walk(value: Record<string, unknown>, tree: PathTree, censor: string, owned: boolean): Record<string, unknown> {
  let result = value;
  for (const key of Object.keys(value)) {
    const current = value[key];
    let next = current;
    if (tree.censor.has(key)) {
      if (current !== undefined) next = censor;
    } else {
      const child = tree.children.get(key);
      if (child !== undefined && isWalkable(next)) next = redactIn(next, child, censor, false);
      if (tree.any !== undefined && isWalkable(next)) next = redactIn(next, tree.any, censor, next !== current);
    }
    if (next === current) continue;
    // Copy on the first change: the caller's objects are never modified.
    if (result === value && !owned)
      result = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...value };
    result[key] = next;
  }
  return result;
}

/**
 * `fields` with the default paths' values replaced by `censor`. Objects on the way to a redacted
 * value are copied, never modified; `owned: true` lets it write into `fields` itself (a copy
 * the caller made). Returns `fields` itself when nothing matched.
 */
export function redactDefaults(
  fields: Record<string, unknown>,
  tree: PathTree,
  censor: string,
  owned: boolean,
): Record<string, unknown> {
  const redacted = redactIn(fields, tree, censor, owned);
  return typeof redacted === 'object' && redacted !== null ? (redacted as Record<string, unknown>) : { redacted };
}
