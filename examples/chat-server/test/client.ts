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
