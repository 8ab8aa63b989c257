import { request as httpRequest } from 'node:http';

/** A minimal GraphQL-over-HTTP client for the tests: plain fetch, as any client would send it. */
export interface GraphQLResponse<Data = Record<string, unknown>> {
  status: number;
  data: Data | null | undefined;
  errors: { message: string; path?: string[]; extensions?: Record<string, unknown> }[] | undefined;
  headers: Headers;
}

export async function gql<Data = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<Data>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Data | null; errors?: GraphQLResponse['errors'] };
  return { status: response.status, data: body.data, errors: body.errors, headers: response.headers };
}

/**
 * `gql` from a chosen loopback source address (`127.0.x.y`: Linux answers on all of 127/8), so
 * that one test can be many clients to the server's per-address limits, as the load harness is.
 */
export function gqlFrom<Data = Record<string, unknown>>(
  localAddress: string,
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<Data>> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          'content-length': Buffer.byteLength(body),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              data?: Data | null;
              errors?: GraphQLResponse['errors'];
            };
            const headers = new Headers();
            for (const [name, value] of Object.entries(response.headers)) {
              if (typeof value === 'string') headers.set(name, value);
            }
            resolve({ status: response.statusCode ?? 0, data: parsed.data, errors: parsed.errors, headers });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The first error's `extensions.code`, or undefined. */
export const codeOf = (response: GraphQLResponse<unknown>) => response.errors?.[0]?.extensions?.code;

/** A password the server's blocklist and strength rules accept. */
export const TEST_PASSWORD = 'lantern quietly folds 8 paper maps';
let registered = 0;

/** Registers a fresh user through the API; `{ id, token }` for the calls that follow. */
export async function registerUser(url: string, label = 'user'): Promise<{ id: string; token: string }> {
  const username = `${label}${Date.now().toString(36)}${registered++}`;
  const response = await gql<{ register: { accessToken: string; user: { id: string } } }>(
    url,
    'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
    { input: { username, email: `${username}@example.com`, password: TEST_PASSWORD } },
  );
  const user = response.data?.register;
  if (!user) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
  return { id: user.user.id, token: user.accessToken };
}
