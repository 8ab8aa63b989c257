import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
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

describe('chat server skeleton', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' });
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

describe('loadConfig', () => {
  test('defaults to 127.0.0.1:4000', () => {
    expect(loadConfig({})).toEqual({ port: 4000, host: '127.0.0.1' });
  });

  test('reads PORT and HOST', () => {
    expect(loadConfig({ PORT: '0', HOST: '0.0.0.0' })).toEqual({ port: 0, host: '0.0.0.0' });
  });

  test.each(['abc', '-1', '65536', '4000x', '1.5'])('rejects PORT=%s naming the variable', (value) => {
    expect(() => loadConfig({ PORT: value })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: value })).toThrow(/^PORT: /);
  });
});

describe('npm start (src/main.ts)', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

  function start(env: Record<string, string>) {
    return spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  test('prints the GraphQL URL, serves it, and stops cleanly on SIGTERM', async () => {
    const child = start({ PORT: '0' });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(stdout);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', () => reject(new Error(`exited early: ${stdout}`)));
    });
    expect((await graphql(url, '{ health }')).body).toEqual({ data: { health: 'ok' } });
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  test('bad configuration fails at start with one line naming the variable', async () => {
    const child = start({ PORT: 'not-a-port' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr.trim()).toBe("invalid configuration: PORT: must be a whole number from 0 to 65535, got 'not-a-port'");
  });
});
