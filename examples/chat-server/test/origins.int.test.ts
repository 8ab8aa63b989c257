import { createTestDatabase } from '@switchboard/infra';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import WebSocket from 'ws';
import { type Instances, startInstances } from './instances.ts';

const EVIL = 'https://evil.example';
const ALLOWED = 'https://chat.example.com';
const OTHER_ALLOWED = 'http://localhost:5173';

let sameOriginOnly: Instances;
let withList: Instances;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_origins');
  sameOriginOnly = await startInstances({ primary: db.primary });
  withList = await startInstances({ primary: db.primary, server: { corsOrigins: [ALLOWED, OTHER_ALLOWED] } });
});

afterAll(async () => {
  await sameOriginOnly?.close();
  await withList?.close();
});

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    },
  });

const post = (url: string, origin: string) =>
  fetch(url, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ health }' }),
  });

/** The HTTP status a WebSocket handshake got: 101 when it opened, else the refusal's status. */
function handshake(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

describe('CORS with no CORS_ORIGINS: same origin only', () => {
  test('a preflight from another origin gets no Access-Control-Allow-Origin', async () => {
    const url = sameOriginOnly.urls[0] as string;
    const response = await preflight(url, EVIL);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
    expect(response.status).toBe(403);
  });

  test('a POST from another origin is answered without Access-Control-Allow-Origin (its page cannot read it)', async () => {
    const url = sameOriginOnly.urls[0] as string;
    const response = await post(url, EVIL);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/Origin/i);
  });

  test('the other endpoints (/ready, /metrics) do not answer other origins either', async () => {
    const base = (sameOriginOnly.urls[0] as string).replace(/\/graphql$/, '');
    for (const path of ['/ready', '/metrics']) {
      const response = await fetch(`${base}${path}`, { headers: { origin: EVIL } });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});

describe('CORS_ORIGINS', () => {
  test('an allowed origin gets exactly itself back, no credentials, on the preflight and the request', async () => {
    const url = withList.urls[0] as string;
    for (const origin of [ALLOWED, OTHER_ALLOWED]) {
      const before = await preflight(url, origin);
      expect(before.status).toBe(204);
      expect(before.headers.get('access-control-allow-origin')).toBe(origin);
      expect(before.headers.get('access-control-allow-methods')).toBe('GET, POST');
      expect(before.headers.get('access-control-allow-headers')).toBe('content-type, authorization');
      expect(before.headers.get('access-control-allow-credentials')).toBeNull();
      const response = await post(url, origin);
      expect(await response.json()).toEqual({ data: { health: 'ok' } });
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After, X-Request-Id');
    }
  });

  test.each([
    EVIL,
    'null',
    'https://chat.example.com.evil.example',
    'https://evil.chat.example.com',
    'http://chat.example.com',
    'https://chat.example.com:8443',
  ])('%s, not on the list, gets no Access-Control-Allow-Origin', async (origin) => {
    const url = withList.urls[0] as string;
    expect((await preflight(url, origin)).headers.get('access-control-allow-origin')).toBeNull();
    expect((await post(url, origin)).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('WebSocket upgrades are checked against the same list', () => {
  test('an upgrade from a page on another origin is refused with 403 before the handshake', async () => {
    expect(await handshake(sameOriginOnly.urls[0] as string, { origin: EVIL })).toBe(403);
    expect(await handshake(withList.urls[0] as string, { origin: EVIL })).toBe(403);
    expect(await handshake(withList.urls[0] as string, { origin: 'null' })).toBe(403);
  });

  test('an allowed origin, and the server’s own, may open a socket', async () => {
    const url = withList.urls[0] as string;
    expect(await handshake(url, { origin: ALLOWED })).toBe(101);
    expect(await handshake(url, { origin: new URL(url).origin })).toBe(101);
    expect(
      await handshake(sameOriginOnly.urls[0] as string, { origin: new URL(sameOriginOnly.urls[0] as string).origin }),
    ).toBe(101);
  });

  test('a client without Origin (not a browser) is let in and can run operations', async () => {
    const url = sameOriginOnly.urls[0] as string;
    expect(await handshake(url, {})).toBe(101);
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const result = await new Promise((resolve, reject) => {
      client.subscribe({ query: '{ health }' }, { next: resolve, error: reject, complete: () => {} });
    });
    expect(result).toEqual({ data: { health: 'ok' } });
    await client.dispose();
  });

  test('a graphql-ws client sending a foreign Origin never gets connected', async () => {
    const url = sameOriginOnly.urls[0] as string;
    class FromEvil extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: { origin: EVIL } });
      }
    }
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: FromEvil, retryAttempts: 0 });
    let connected = false;
    client.on('connected', () => {
      connected = true;
    });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: '{ health }' }, { next: resolve, error: resolve, complete: () => {} });
    });
    expect(connected).toBe(false);
    expect(outcome).not.toEqual({ data: { health: 'ok' } });
    await client.dispose();
  });
});
