/**
 * Every Switchboard package error to what a client sees, through the packages' own
 * `toGraphQLError` (their error tables): over GraphQL, that error; over HTTP, its status,
 * headers and a JSON body `{ error, code, ...extensions }`. No second table lives here.
 *
 * Each package's `./graphql` subpath is imported when the module starts, and only if that
 * package is installed (they are optional peers; a package that is not installed throws no
 * errors to map).
 */
import { HttpException } from '@nestjs/common';
import { GraphQLError } from 'graphql';

interface PackageMapper {
  name: string;
  is(error: unknown): boolean;
  toGraphQLError(error: never): unknown;
}

const MISSING = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_SWITCHBOARD_MISSING_PEER']);

async function ifInstalled(
  name: string,
  load: () => Promise<Omit<PackageMapper, 'name'>>,
): Promise<PackageMapper | undefined> {
  try {
    return { name, ...(await load()) };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && MISSING.has(code) && String((error as Error).message).includes(name))
      return undefined;
    throw error;
  }
}

let loading: Promise<readonly PackageMapper[]> | undefined;
let loaded: readonly PackageMapper[] | undefined;

/** Loads the mappers once (the module awaits it at startup, so the filter then maps synchronously). */
export function loadErrorMappers(): Promise<readonly PackageMapper[]> {
  loading ??= Promise.all([
    ifInstalled('@switchboard/auth', async () => {
      const [main, graphql] = await Promise.all([import('@switchboard/auth'), import('@switchboard/auth/graphql')]);
      return { is: main.isAuthError, toGraphQLError: graphql.toGraphQLError };
    }),
    ifInstalled('@switchboard/rbac', async () => {
      const [main, graphql] = await Promise.all([import('@switchboard/rbac'), import('@switchboard/rbac/graphql')]);
      return { is: main.isRbacError, toGraphQLError: graphql.toGraphQLError };
    }),
    ifInstalled('@switchboard/ratelimit', async () => {
      const [main, graphql] = await Promise.all([
        import('@switchboard/ratelimit'),
        import('@switchboard/ratelimit/graphql'),
      ]);
      return { is: main.isRateLimitError, toGraphQLError: graphql.toGraphQLError };
    }),
    ifInstalled('@switchboard/validation', async () => {
      const [main, graphql] = await Promise.all([
        import('@switchboard/validation'),
        import('@switchboard/validation/graphql'),
      ]);
      return { is: main.isValidationError, toGraphQLError: graphql.toGraphQLError };
    }),
    ifInstalled('@switchboard/pagination', async () => {
      const [main, graphql] = await Promise.all([
        import('@switchboard/pagination'),
        import('@switchboard/pagination/graphql'),
      ]);
      // Only the client's mistakes; a NULL or duplicate sort key stays a server error.
      return { is: main.isPaginationInputError, toGraphQLError: graphql.toGraphQLError };
    }),
  ]).then((mappers) => {
    loaded = mappers.filter((mapper) => mapper !== undefined);
    return loaded;
  });
  return loading;
}

/** A mapped error, ready for either transport. */
export interface ClientError {
  status: number;
  headers: Record<string, string>;
  body: { error: string; code: string } & Record<string, unknown>;
  graphql: GraphQLError;
}

/** The mapping of `error`, or undefined when it is not a Switchboard error (or mappers are not loaded yet). */
export function clientErrorFor(error: unknown): ClientError | undefined {
  const mapper = loaded?.find((candidate) => candidate.is(error));
  if (mapper === undefined) return undefined;
  const mapped = mapper.toGraphQLError(error as never);
  return mapped instanceof GraphQLError ? fromGraphQLError(mapped) : undefined;
}

/** A refusal an adapter built itself (from the same tables), as a {@link ClientError}. */
export function clientErrorFromRefusal(refusal: {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: { error: string; code: string };
}): ClientError {
  const { error: message, ...extensions } = refusal.body as { error: string; code: string } & Record<string, unknown>;
  const headers = { ...refusal.headers };
  return {
    status: refusal.status,
    headers,
    body: { ...refusal.body },
    graphql: new GraphQLError(message, {
      extensions: { ...extensions, http: { status: refusal.status, headers: driverHeaders(headers) } },
    }),
  };
}

function fromGraphQLError(error: GraphQLError): ClientError {
  const { http, ...extensions } = error.extensions as { http?: { status?: number; headers?: Record<string, string> } };
  const status = http?.status ?? 500;
  const headers = { ...(http?.headers ?? {}) };
  return {
    status,
    headers,
    body: { error: error.message, ...(extensions as { code: string }) },
    graphql: new GraphQLError(error.message, {
      extensions: { ...extensions, http: { status, headers: driverHeaders(headers) } },
    }),
  };
}

/**
 * `extensions.http.headers` as both GraphQL servers Nest drives read it: Apollo Server takes it
 * only as a `Map` (anything else leaves `http` in the response and drops the status), graphql-yoga
 * reads the headers as an object's own properties. A `Map` that also carries them as properties
 * satisfies both.
 */
function driverHeaders(headers: Record<string, string>): Map<string, string> & Record<string, string> {
  return Object.assign(new Map(Object.entries(headers)), headers);
}

/** An HTTP refusal Nest's own exception handling answers as it is: status and JSON body. */
export class SwitchboardHttpException extends HttpException {
  constructor(readonly clientError: ClientError) {
    super(clientError.body, clientError.status);
  }
}
