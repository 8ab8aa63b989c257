import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { type RunningServer, startServer } from '../src/server.ts';

async function graphql(url: string, query: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    // The GraphQL-over-HTTP media type: request errors get 4xx statuses (plain JSON gets 200).
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('startServer', () => {
  let server: RunningServer;

  beforeAll(async () => {
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: 'type Query { health: String! }',
        resolvers: { Query: { health: () => 'ok' } },
      }),
      graphqlEndpoint: '/graphql',
    });
    server = await startServer({ port: 0, host: '127.0.0.1' }, yoga);
  });

  afterAll(async () => {
    await server?.close();
  });

  test('answers { health } with ok', async () => {
    const { status, body } = await graphql(server.url, '{ health }');
    expect(status).toBe(200);
    expect(body).toEqual({ data: { health: 'ok' } });
  });

  test('an unknown field is a GraphQL validation error with a code, not a 500 with a stack', async () => {
    const { status, body } = await graphql(server.url, '{ users { id } }');
    expect(status).toBe(400);
    const [error] = body.errors as { message: string; extensions: Record<string, unknown> }[];
    expect(error?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(body)).not.toContain('    at ');
  });
});

describe('stopping', () => {
  test('cuts SSE subscriptions at once instead of waiting out the grace period for them', async () => {
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: 'type Query { health: String! } type Subscription { ticks: Int! }',
        resolvers: {
          Query: { health: () => 'ok' },
          Subscription: {
            ticks: {
              subscribe: async function* () {
                for (let n = 0; ; n++) {
                  yield { ticks: n };
                  await new Promise((resolve) => setTimeout(resolve, 50));
                }
              },
            },
          },
        },
      }),
      graphqlEndpoint: '/graphql',
    });
    const running = await startServer({ port: 0, host: '127.0.0.1' }, yoga);
    const response = await fetch(running.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { ticks }' }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    // The first chunk may be yoga's keep-alive comment (":" alone; on Node 26 it arrives on its
    // own): read until the first event.
    let received = '';
    const decoder = new TextDecoder();
    while (!received.includes('ticks')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      received += decoder.decode(chunk.value, { stream: true });
    }
    expect(received).toContain('ticks');
    const started = Date.now();
    await running.close(10_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    // The client sees its stream broken (not completed), so it knows to reconnect.
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'completed';
      })(),
    ).rejects.toThrow();
  });
});

describe('loadConfig', () => {
  test('defaults to 127.0.0.1:4000', () => {
    expect(loadConfig({})).toMatchObject({ port: 4000, host: '127.0.0.1', databaseUrl: undefined });
    expect(loadConfig({}).dataDir).toMatch(/examples\/chat-server\/\.data$/);
  });

  test('reads PORT and HOST', () => {
    expect(loadConfig({ PORT: '0', HOST: '0.0.0.0' })).toMatchObject({ port: 0, host: '0.0.0.0' });
  });

  test('reads DATABASE_URL and DATA_DIR', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/chat', DATA_DIR: '/var/lib/chat' });
    expect(config).toMatchObject({ databaseUrl: 'postgres://u:p@db:5432/chat', dataDir: '/var/lib/chat' });
  });

  test('reads replicas and Redis (a URL, or Sentinels with a master name)', () => {
    const primary = 'postgres://u@db:5432/chat';
    expect(
      loadConfig({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: 'postgres://u@r1/chat, postgres://u@r2/chat' })
        .replicaUrls,
    ).toEqual(['postgres://u@r1/chat', 'postgres://u@r2/chat']);
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379' }).redis).toEqual({ url: 'redis://cache:6379' });
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26380' }).redis).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      masterName: 'mymaster',
    });
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_MASTER_NAME: 'chat' }).redis).toMatchObject({
      masterName: 'chat',
    });
    expect(loadConfig({}).redis).toBeUndefined();
  });

  test('OTEL_EXPORTER_OTLP_ENDPOINT turns telemetry on; unset or blank, it is off', () => {
    expect(loadConfig({}).telemetry).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }).telemetry).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).telemetry).toBe(true);
  });

  test('LOG_FORMAT: ecs unless pino is asked for', () => {
    expect(loadConfig({}).logFormat).toBe('ecs');
    expect(loadConfig({ LOG_FORMAT: ' Pino ' }).logFormat).toBe('pino');
    expect(loadConfig({ LOG_FORMAT: 'ecs' }).logFormat).toBe('ecs');
  });

  test.each([
    [{ DATABASE_REPLICA_URLS: 'postgres://u@r1/chat' }, /^DATABASE_REPLICA_URLS: needs DATABASE_URL/],
    [{ DATABASE_URL: 'postgres://u@db/chat', DATABASE_REPLICA_URLS: 'http://r1' }, /^DATABASE_REPLICA_URLS: /],
    [{ REDIS_URL: 'cache:6379' }, /^REDIS_URL: /],
    [{ REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 'b:2' }, /^REDIS_URL: set REDIS_URL or REDIS_SENTINELS/],
    [{ REDIS_SENTINELS: 's1' }, /^REDIS_SENTINELS: /],
    [{ REDIS_SENTINELS: 's1:99999' }, /^REDIS_SENTINELS: /],
    [{ REDIS_MASTER_NAME: 'chat' }, /^REDIS_MASTER_NAME: needs REDIS_SENTINELS/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ LOG_FORMAT: 'pretty' }, /^LOG_FORMAT: /],
    [{ MESSAGES_PER_HOUR: '0' }, /^MESSAGES_PER_HOUR: /],
  ])('rejects %o with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test.each(['not a url', 'mysql://db/chat'])('rejects DATABASE_URL=%s naming the variable', (value) => {
    expect(() => loadConfig({ DATABASE_URL: value })).toThrow(/^DATABASE_URL: /);
  });

  test.each(['abc', '-1', '65536', '4000x', '1.5'])('rejects PORT=%s naming the variable', (value) => {
    expect(() => loadConfig({ PORT: value })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: value })).toThrow(/^PORT: /);
  });
});
