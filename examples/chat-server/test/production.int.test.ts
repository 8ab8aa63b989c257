import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@switchboard/infra';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { gql } from './client.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TOKEN = '6f1c0e9a4b7d2c8e5a3f1b9d7c2e4a60';
const INTROSPECTION = '{ __schema { queryType { name } } }';
const children: ChildProcessWithoutNullStreams[] = [];
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = (await createTestDatabase(inject('infra'), 'chat_production')).primary;
});

afterAll(async () => {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
});

interface Started {
  url: string;
  base: string;
  printed: string;
  stderr: () => string;
}

/** `npm start` as production runs it (src/main.ts), over the test database; resolves after its banner. */
async function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--conditions=@switchboard/source', '--import', 'tsx', main], {
    env: { ...process.env, PORT: '0', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const printed = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('Stop with Ctrl-C.')) resolve(stdout);
    });
    child.once('exit', (code) => reject(new Error(`exited early (${code}): ${stdout}${stderr}`)));
  });
  const url = /Switchboard chat server: (\S+)/.exec(printed)?.[1] as string;
  return { url, base: url.replace(/\/graphql$/, ''), printed, stderr: () => stderr };
}

/** What a browser asking for GraphiQL gets. */
async function graphiql(url: string): Promise<{ status: number; html: boolean }> {
  const response = await fetch(url, { headers: { accept: 'text/html' } });
  const body = await response.text();
  return { status: response.status, html: /<html/i.test(body) && /graphiql/i.test(body) };
}

const metricsLines = (printed: string) => printed.split('\n').filter((line) => /metrics/i.test(line));

describe('NODE_ENV=production, nothing else set', () => {
  let server: Started;
  beforeAll(async () => {
    server = await start({ NODE_ENV: 'production' });
  });

  test('introspection is refused as a validation error; ordinary queries and __typename still work', async () => {
    const schema = await gql(server.url, INTROSPECTION);
    expect(schema.status).toBe(400);
    expect(schema.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(schema.errors?.[0]?.message).toMatch(/introspection/i);
    expect(schema.data).toBeUndefined();
    const type = await gql(server.url, '{ __type(name: "Query") { name } }');
    expect(type.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await gql(server.url, '{ health __typename }')).toMatchObject({
      data: { health: 'ok', __typename: 'Query' },
    });
  });

  test('GraphiQL is not served', async () => {
    expect((await graphiql(server.url)).html).toBe(false);
    expect(server.printed).not.toContain('GraphiQL');
  });

  test('/metrics is not served (404), and the start says in one line how to enable it', async () => {
    const response = await fetch(`${server.base}/metrics`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('chat_http_requests_total');
    expect(metricsLines(server.printed)).toEqual([
      '/metrics is off in production: set METRICS_TOKEN (scrape with Authorization: Bearer <token>) or METRICS_PORT (served on 127.0.0.1 only)',
    ]);
    expect(server.stderr()).toBe('');
  });
});

describe('NODE_ENV=production with GRAPHIQL=true and METRICS_TOKEN', () => {
  let server: Started;
  beforeAll(async () => {
    server = await start({ NODE_ENV: 'production', GRAPHIQL: 'true', METRICS_TOKEN: TOKEN });
  });

  test('GraphiQL and introspection are back', async () => {
    expect((await graphiql(server.url)).html).toBe(true);
    expect((await gql(server.url, INTROSPECTION)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  test('/metrics answers 401 without the bearer token or with a wrong one, and the metrics with it', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-wrong-token', `Bearer ${TOKEN.toUpperCase()}`]) {
      const response = await fetch(`${server.base}/metrics`, {
        headers: authorization ? { authorization } : {},
      });
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('chat_http_requests_total');
    }
    const response = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('chat_http_requests_total');
    expect(metricsLines(server.printed)).toEqual([]);
  });
});

describe('NODE_ENV=production with METRICS_PORT', () => {
  test('/metrics is served on 127.0.0.1:METRICS_PORT only, named in the banner', async () => {
    const server = await start({ NODE_ENV: 'production', METRICS_PORT: '0' });
    const metricsUrl = /^metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(server.printed)?.[1];
    expect(metricsUrl).toBeDefined();
    const response = await fetch(metricsUrl as string);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('chat_http_requests_total');
    expect((await fetch(`${server.base}/metrics`)).status).toBe(404);
    expect(metricsLines(server.printed)).toHaveLength(1);
  });
});

describe('development (NODE_ENV not production): as before', () => {
  test('GraphiQL, introspection and /metrics on the main port, open', async () => {
    const server = await start({ NODE_ENV: 'development' });
    expect(server.printed).toContain('(GraphiQL in a browser)');
    expect((await graphiql(server.url)).html).toBe(true);
    expect((await gql(server.url, INTROSPECTION)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const response = await fetch(`${server.base}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('chat_http_requests_total');
    expect(metricsLines(server.printed)).toEqual([]);
  });
});
