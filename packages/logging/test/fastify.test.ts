import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { type LogContext, logContext } from '../src/context.ts';
import { fastifyRequestContext, fastifyRequestId } from '../src/fastify.ts';
import { postSlowBody } from './slow-body.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe('fastifyRequestContext', () => {
  test('hooks, the handler and the work it awaits, schedules or leaves running see the id, echoed on the reply', async () => {
    const app = Fastify();
    await app.register(fastifyRequestContext);
    const leftRunning: (LogContext | undefined)[] = [];
    app.addHook('preHandler', async (request) => {
      (request as unknown as { hook: unknown }).hook = logContext();
    });
    app.get('/', async (request) => {
      const sync = logContext();
      await sleep(5);
      const afterAwait = logContext();
      const timeout = await new Promise((resolve) => setTimeout(() => resolve(logContext()), 1));
      const immediate = await new Promise((resolve) => setImmediate(() => resolve(logContext())));
      void sleep(20).then(() => leftRunning.push(logContext()));
      return { hook: (request as unknown as { hook: unknown }).hook, sync, afterAwait, timeout, immediate };
    });
    const response = await fetch(await listen(app));
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    const seen = (await response.json()) as Record<string, LogContext>;
    expect(Object.keys(seen)).toHaveLength(5);
    for (const step of Object.values(seen)) expect(step).toEqual({ requestId: id });
    await vi.waitFor(() => expect(leftRunning).toEqual([{ requestId: id }]));
  });

  test('the handler sees the context after the body parser read a slowly sent body', async () => {
    const app = Fastify();
    await app.register(fastifyRequestContext);
    app.post('/', async (request) => ({ body: request.body, context: logContext() }));
    const port = Number(new URL(await listen(app)).port);
    const { body } = await postSlowBody(port, '/', 'slow-body');
    expect(JSON.parse(body)).toEqual({
      body: { text: 'hi' },
      context: { requestId: 'slow-body' },
    });
  });

  test('two concurrent requests, interleaved on purpose, never see each other’s id', async () => {
    const app = Fastify();
    await app.register(fastifyRequestContext);
    const arrived: (() => void)[] = [];
    app.get('/', async () => {
      const before = logContext()?.requestId;
      await new Promise<void>((resolve) => {
        arrived.push(resolve);
        if (arrived.length === 2) {
          arrived[0]?.();
          setTimeout(resolve, 20);
        }
      });
      return { before, after: logContext()?.requestId };
    });
    const url = await listen(app);
    const ask = async (id: string) => (await fetch(url, { headers: { 'x-request-id': id } })).json();
    const [a, b] = await Promise.all([ask('fastify-a'), ask('fastify-b')]);
    expect(a).toEqual({ before: 'fastify-a', after: 'fastify-a' });
    expect(b).toEqual({ before: 'fastify-b', after: 'fastify-b' });
  });

  test('replaces attacker-supplied ids (huge, whitespace, quotes, non-ASCII, repeated)', async () => {
    const app = Fastify();
    await app.register(fastifyRequestContext);
    app.get('/', async () => logContext()?.requestId);
    const port = Number(new URL(await listen(app)).port);
    const attacks = [
      [`x-request-id: ${'b'.repeat(5_000)}`],
      ['x-request-id: a b'],
      ['x-request-id: a\tb'],
      ["x-request-id: ');drop table logs;--"],
      ['x-request-id: caf\u00e9'],
      ['x-request-id: one', 'x-request-id: two'],
    ];
    for (const lines of attacks) {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      let text = '';
      for await (const chunk of socket) text += (chunk as Buffer).toString('latin1');
      const [head, body] = text.split('\r\n\r\n');
      const echoed = /\r\nx-request-id: ([^\r]*)/i.exec(head as string)?.[1];
      expect(echoed).toMatch(UUID);
      expect(body).toBe(echoed);
    }
  });

  test('is not encapsulated: routes of sibling plugins see the context', async () => {
    const app = Fastify();
    await app.register(fastifyRequestContext);
    await app.register(async (scope) => {
      scope.get('/sibling', async () => logContext() ?? null);
    });
    const response = await fetch(`${await listen(app)}/sibling`, { headers: { 'x-request-id': 'sibling-1' } });
    expect(await response.json()).toEqual({ requestId: 'sibling-1' });
  });

  test('with fastifyRequestId, request.id, request.log and the context share one id', async () => {
    const logLines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n')) if (text) logLines.push(JSON.parse(text));
        done();
      },
    });
    const app = Fastify({ genReqId: fastifyRequestId(), logger: { level: 'info', stream: sink } });
    await app.register(fastifyRequestContext);
    app.get('/', async (request) => {
      request.log.info('handling');
      return { fastifyId: request.id, context: logContext() };
    });
    const url = await listen(app);
    const trusted = await fetch(url, { headers: { 'x-request-id': 'edge-77' } });
    expect(await trusted.json()).toEqual({ fastifyId: 'edge-77', context: { requestId: 'edge-77' } });
    expect(trusted.headers.get('x-request-id')).toBe('edge-77');
    expect(logLines.find((line) => line.msg === 'handling')?.reqId).toBe('edge-77');
    const generated = await fetch(url, { headers: { 'x-request-id': 'bad id' } });
    const body = (await generated.json()) as { fastifyId: string; context: LogContext };
    expect(body.fastifyId).toMatch(UUID);
    expect(body.context.requestId).toBe(body.fastifyId);
    expect(generated.headers.get('x-request-id')).toBe(body.fastifyId);
  });

  test('without it, Fastify keeps its own request.id', async () => {
    const app = Fastify();
    await app.register(fastifyRequestContext, { generateId: () => 'ours-1', responseHeader: false });
    app.get('/', async (request) => ({ fastifyId: request.id, context: logContext() }));
    const response = await fetch(await listen(app));
    expect(await response.json()).toEqual({ fastifyId: 'req-1', context: { requestId: 'ours-1' } });
    expect(response.headers.get('x-request-id')).toBeNull();
  });

  test('fields add context; one that throws fails the request through Fastify’s error handling', async () => {
    const app = Fastify();
    await app.register(fastifyRequestContext, {
      header: 'x-correlation-id',
      fields: (raw) => {
        if (raw.url === '/fail') throw new Error('no tenant');
        return { tenant: raw.headers['x-tenant'], requestId: 'cannot-override' };
      },
    });
    app.get('/', async () => logContext() ?? null);
    app.get('/fail', async () => 'unreachable');
    app.setErrorHandler((error, _request, reply) => {
      void reply.status(500).send({ error: (error as Error).message, context: logContext() ?? null });
    });
    const url = await listen(app);
    const ok = await fetch(url, { headers: { 'x-correlation-id': 'corr-1', 'x-tenant': 'acme' } });
    expect(await ok.json()).toEqual({ tenant: 'acme', requestId: 'corr-1' });
    expect(ok.headers.get('x-correlation-id')).toBe('corr-1');
    const failed = await fetch(`${url}/fail`, { headers: { 'x-correlation-id': 'corr-2' } });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: 'no tenant', context: { requestId: 'corr-2' } });
  });

  test.each([
    [{ header: 'x request id' }, /fastifyRequestContext: header must be an HTTP header name/],
    [{ trustIncomingId: 'no' }, /fastifyRequestContext: trustIncomingId must be a boolean/],
    [{ generateId: 1 }, /fastifyRequestContext: generateId must be a function/],
    [{ responseHeader: 'yes' }, /fastifyRequestContext: responseHeader must be a boolean/],
    [{ fields: 'tenant' }, /fastifyRequestContext: fields must be a function/],
  ])('refuses %o with a TypeError when registered', async (options, message) => {
    const app = Fastify();
    apps.push(app);
    app.register(fastifyRequestContext, options as never);
    const failure = await app.ready().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as Error).message).toMatch(message);
  });

  test('fastifyRequestId refuses bad options with a TypeError', () => {
    expect(() => fastifyRequestId({ header: 'a b' })).toThrow(/fastifyRequestId: header must be an HTTP header name/);
    expect(() => fastifyRequestId({ generateId: 'x' as never })).toThrow(TypeError);
  });
});
