import { Pool } from 'undici';

export interface GraphQLResponse<Data> {
  status: number;
  data: Data | null | undefined;
  errors: { message: string; extensions?: { code?: unknown } }[] | undefined;
}

/**
 * A plain GraphQL-over-HTTP client for setup work (registering users, reading cursors), from a
 * chosen loopback source address. The load itself goes through the workers.
 */
export class GraphQLClient {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(url: string, options: { localAddress?: string; connections?: number } = {}) {
    const parsed = new URL(url);
    this.path = parsed.pathname;
    this.pool = new Pool(parsed.origin, {
      connections: options.connections ?? 4,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
  }

  async request<Data>(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<GraphQLResponse<Data>> {
    const response = await this.pool.request({
      method: 'POST',
      path: this.path,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.body.json()) as { data?: Data | null; errors?: GraphQLResponse<Data>['errors'] };
    return { status: response.statusCode, data: body.data, errors: body.errors };
  }

  /** The data, or an error naming the operation and the server's first error. */
  async data<Data>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Data> {
    const response = await this.request<Data>(query, variables, token);
    if (response.errors?.length || !response.data) {
      const first = response.errors?.[0];
      const code = first?.extensions?.code ? ` (${String(first.extensions.code)})` : '';
      throw new Error(
        `${query.trim().split(/\s+/).slice(0, 3).join(' ')}: ${first?.message ?? `HTTP ${response.status}`}${code}`,
      );
    }
    return response.data;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
