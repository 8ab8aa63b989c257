import { createSchema, createYoga } from 'graphql-yoga';
import { afterEach, describe, expect, test } from 'vitest';
import { type Routes, type RunningServer, type ServerOptions, startServer } from '../src/server.ts';

const TOKEN = 'a3f9c1d27e4b8a60f5d2c9e1b7a4d3c8';
const running: RunningServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close(1_000)));
});

/** A server whose `/metrics` says `chat_up 1`, started with the given access settings. */
async function serve(options: Omit<ServerOptions, 'port' | 'host'>): Promise<RunningServer> {
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { health: String! }', resolvers: { Query: { health: () => 'ok' } } }),
    graphqlEndpoint: '/graphql',
    logging: false,
  });
  const routes: Routes = {
    '/metrics': async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end('chat_up 1\n');
    },
  };
  const server = await startServer({ port: 0, host: '127.0.0.1', ...options }, yoga, routes);
  running.push(server);
  return server;
}

const metricsOf = (server: RunningServer) => server.url.replace(/\/graphql$/, '/metrics');
const scrape = async (url: string, authorization?: string) => {
  const response = await fetch(url, { headers: authorization ? { authorization } : {} });
  return { status: response.status, body: await response.text(), headers: response.headers };
};

describe('/metrics in development (neither METRICS_TOKEN nor METRICS_PORT)', () => {
  test('is served on the main port to anyone, as before', async () => {
    const server = await serve({ production: false });
    expect(await scrape(metricsOf(server))).toMatchObject({ status: 200, body: 'chat_up 1\n' });
    expect(server.metricsUrl).toBeUndefined();
  });
});

describe('/metrics in production', () => {
  test('with neither set: not served (404), the rest of the server is', async () => {
    const server = await serve({ production: true });
    const answer = await scrape(metricsOf(server));
    expect(answer.status).toBe(404);
    expect(answer.body).not.toContain('chat_up');
    expect((await fetch(server.url.replace(/\/graphql$/, '/health'))).status).toBe(200);
  });

  test('METRICS_TOKEN: 401 without the token or with a wrong one, 200 with it', async () => {
    const server = await serve({ production: true, metricsToken: TOKEN });
    const url = metricsOf(server);
    const refused = [
      await scrape(url),
      await scrape(url, 'Bearer wrong'),
      await scrape(url, `Bearer ${TOKEN.slice(0, -1)}`),
      await scrape(url, `Bearer ${TOKEN}x`),
      await scrape(url, `Basic ${Buffer.from(`metrics:${TOKEN}`).toString('base64')}`),
      await scrape(url, TOKEN),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(401);
      expect(answer.body).not.toContain('chat_up');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(await scrape(url, `Bearer ${TOKEN}`)).toMatchObject({ status: 200, body: 'chat_up 1\n' });
  });

  test('METRICS_PORT: served on its own 127.0.0.1 listener only, not on the main port', async () => {
    const server = await serve({ production: true, metricsPort: 0 });
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(await scrape(server.metricsUrl as string)).toMatchObject({ status: 200, body: 'chat_up 1\n' });
    expect((await scrape(metricsOf(server))).status).toBe(404);
    // The metrics listener serves nothing else: no GraphQL, no other route.
    const other = new URL('/graphql', server.metricsUrl as string).href;
    expect((await fetch(other, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await scrape(new URL('/ready', server.metricsUrl as string).href)).status).toBe(404);
  });

  test('METRICS_PORT with METRICS_TOKEN: the listener asks for the token too', async () => {
    const server = await serve({ production: true, metricsPort: 0, metricsToken: TOKEN });
    expect((await scrape(server.metricsUrl as string)).status).toBe(401);
    expect((await scrape(server.metricsUrl as string, `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await scrape(metricsOf(server), `Bearer ${TOKEN}`)).status).toBe(404);
  });

  test('closing the server closes the metrics listener too', async () => {
    const server = await serve({ production: true, metricsPort: 0 });
    const url = server.metricsUrl as string;
    await server.close(1_000);
    running.splice(running.indexOf(server), 1);
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('/metrics in development with METRICS_TOKEN', () => {
  test('asks for the token as in production', async () => {
    const server = await serve({ production: false, metricsToken: TOKEN });
    expect((await scrape(metricsOf(server))).status).toBe(401);
    expect((await scrape(metricsOf(server), `Bearer ${TOKEN}`)).status).toBe(200);
  });
});
