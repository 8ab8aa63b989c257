/** GraphQL over HTTP to the same origin, errors as a typed exception a person can be shown. */

export interface GraphQLErrorShape {
  message: string;
  extensions?: {
    code?: string;
    reason?: string;
    retryAfterMs?: number;
    issues?: { path: (string | number)[]; message: string }[];
  };
}

export class ApiError extends Error {
  readonly code: string;
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** Validation messages by field name (the last segment of each issue's path). */
  readonly fields: Record<string, string>;

  constructor(error: GraphQLErrorShape) {
    super(error.message);
    this.code = error.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
    this.reason = error.extensions?.reason;
    this.retryAfterMs = error.extensions?.retryAfterMs;
    this.fields = {};
    for (const issue of error.extensions?.issues ?? []) {
      const field = String(issue.path[issue.path.length - 1] ?? '');
      this.fields[field] ??= issue.message;
    }
  }
}

/** The network itself failed (offline, server restarting): worth retrying, not the user's fault. */
export class NetworkError extends Error {}

export async function postGraphQL<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new NetworkError('The server cannot be reached. Retrying when the connection is back.');
  }
  let body: { data?: T | null; errors?: GraphQLErrorShape[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new NetworkError(`The server answered ${response.status}.`);
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first);
  return body.data as T;
}

/** What to tell a person about an error. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'RATE_LIMITED' && error.retryAfterMs !== undefined)
      return `Too fast: try again in ${Math.max(1, Math.ceil(error.retryAfterMs / 1000))} s.`;
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
