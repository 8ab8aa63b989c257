import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { type Client, createClient as createWsClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createGraphQLError, createSchema, createYoga, type Plugin } from 'graphql-yoga';
import pino from 'pino';
import { afterEach, describe, expect, test, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type LogContext, logContext, setLogContext } from '../src/context.ts';
import { fastifyRequestContext, fastifyRequestId } from '../src/fastify.ts';
import { requestContext } from '../src/http.ts';
import { type RequestLoggingOptions, useRequestLogging } from '../src/yoga.ts';

type Line = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Plain pino whose every line carries the current log context (what createLogger does), into an array. */
function capture(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { log: pino({ level: 'debug', mixin: () => ({ ...logContext() }) }, sink), lines };
}

const operationLines = (lines: Line[]) => lines.filter((line) => 'event.outcome' in line);

/** Where resolvers report the context they saw, by the tag the test gave them. */
const seen = new Map<string, LogContext[]>();
const note = (tag: string) => {
  const list = seen.get(tag) ?? [];
  list.push({ ...logContext() });
  seen.set(tag, list);
};
const noted = async (tag: string, count: number): Promise<LogContext[]> => {
  await vi.waitFor(() => expect(seen.get(tag)?.length ?? 0).toBeGreaterThanOrEqual(count), { timeout: 2_000 });
  return seen.get(tag) as LogContext[];
};

// Two requests meet here: each waits until the other has arrived, then they finish in the
// opposite order, so their work interleaves on purpose.
const gates = new Map<string, () => void>();
function meet(tag: string, other: string): Promise<void> {
  return new Promise((resolve) => {
    gates.set(tag, resolve);
    const partner = gates.get(other);
    if (partner) {
      // The later arrival lets the earlier one go first, then follows a little later.
      partner();
      setTimeout(resolve, 20);
    }
  });
}

class RefusedError extends Error {}
class DatabaseDownError extends Error {}

/** A server's own mask, as given to yoga's `maskedErrors.maskError`. */
const serverMask = (error: unknown, message: string): Error => {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  if (original instanceof RefusedError) {
    return createGraphQLError('not yours', { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
  }
  if (original instanceof DatabaseDownError) {
    return createGraphQLError('try later', { extensions: { code: 'DATABASE_UNAVAILABLE', http: { status: 503 } } });
  }
  return createGraphQLError(message, {
    ...(original instanceof Error ? { originalError: original } : {}),
    extensions: { unexpected: true },
  });
};

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      context(tag: String): String
      background(tag: String!): Boolean
      meet(tag: String!, other: String!): String
      slow(ms: Int!): Boolean
      forbidden: String
      boom: String
      unavailable: String
      refused: String
      databaseDown: String
      count(n: Int!): Int
    }
    type Mutation {
      login(userId: String!): String
      context: String
    }
    type Subscription {
      ticks(tag: String!, count: Int!): String
      failing: String
    }
  `,
  resolvers: {
    Query: {
      context: (_root, { tag }: { tag?: string }) => {
        if (tag) note(tag);
        return JSON.stringify(logContext() ?? null);
      },
      background: (_root, { tag }: { tag: string }) => {
        // Started, never awaited: they run after the operation answered.
        setTimeout(() => note(tag), 30);
        setImmediate(() => note(tag));
        void sleep(50).then(() => note(tag));
        queueMicrotask(() => note(tag));
        return true;
      },
      meet: async (_root, { tag, other }: { tag: string; other: string }) => {
        note(`${tag}:before`);
        await meet(tag, other);
        note(`${tag}:after`);
        return JSON.stringify(logContext() ?? null);
      },
      slow: async (_root, { ms }: { ms: number }) => {
        await sleep(ms);
        return true;
      },
      forbidden: () => {
        throw createGraphQLError('not yours', { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
      },
      boom: () => {
        throw new Error('database exploded');
      },
      unavailable: () => {
        throw createGraphQLError('try later', { extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } } });
      },
      // Errors of the server's own, turned into coded answers by its mask (`serverMask` below).
      refused: () => {
        throw new RefusedError('not yours');
      },
      databaseDown: () => {
        throw new DatabaseDownError('connection refused');
      },
      count: (_root, { n }: { n: number }) => n,
    },
    Mutation: {
      login: (_root, { userId }: { userId: string }) => {
        setLogContext({ userId });
        return userId;
      },
      context: () => JSON.stringify(logContext() ?? null),
    },
    Subscription: {
      ticks: {
        subscribe: async function* (_root, { tag, count }: { tag: string; count: number }) {
          for (let i = 0; i < count; i++) {
            await sleep(5);
            note(`${tag}:source`);
            yield { ticks: String(i) };
          }
        },
        resolve: async (payload: { ticks: string }, { tag }: { tag: string }) => {
          note(`${tag}:event`);
          await new Promise((resolve) => setImmediate(resolve));
          note(`${tag}:event-after`);
          return JSON.stringify({ tick: payload.ticks, context: logContext() ?? null });
        },
      },
      failing: {
        subscribe: async function* () {
          yield { failing: 'one' };
          throw new Error('stream broke');
        },
      },
    },
  },
});

interface Running {
  url: string;
  wsUrl: string;
  server: Server;
  close(): Promise<void>;
}

const running: Running[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  for (const server of running.splice(0)) await server.close();
  seen.clear();
  gates.clear();
});

/**
 * graphql-yoga over HTTP (and SSE) with graphql-ws on the same path, wired as yoga's documentation
 * and the chat server do: each `subscribe` message runs through `yoga.getEnveloped`.
 */
async function start(
  options: Partial<RequestLoggingOptions> & { middleware?: boolean; plugins?: Plugin[]; batching?: boolean } = {},
): Promise<Running & { lines: Line[] }> {
  const { log, lines } = capture();
  const { middleware, plugins = [], batching, ...logging } = options;
  const yoga = createYoga({
    schema,
    logging: false,
    batching: batching ?? false,
    // Context building may know the user: its setLogContext holds for the rest of the operation.
    context: ({ request, connectionParams }: { request?: Request; connectionParams?: { userId?: string } }) => {
      const userId = connectionParams?.userId ?? request?.headers.get('x-user') ?? undefined;
      if (userId) setLogContext({ userId });
      return {};
    },
    plugins: [useRequestLogging({ logger: log, ...logging }), ...plugins],
  });
  const withContext = requestContext({ generateId: () => 'from-middleware' });
  const server = createServer(middleware ? (req, res) => withContext(req, res, () => yoga(req, res)) : yoga);
  const sockets = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  type Root = { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
  useServer(
    {
      execute: (args) => (args.rootValue as Root).execute(args as ExecutionArgs) as never,
      subscribe: (args) => (args.rootValue as Root).subscribe(args as ExecutionArgs) as never,
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
    },
    sockets,
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const entry: Running = {
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    server,
    close: async () => {
      for (const socket of sockets.clients) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  running.push(entry);
  return { ...entry, lines };
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  id: string | null;
  body: { data?: Record<string, unknown>; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, id: response.headers.get('x-request-id'), body: (await response.json()) as never };
}

function wsClient(
  url: string,
  options: { connectionParams?: Record<string, unknown>; requestId?: string } = {},
): Client {
  const { requestId } = options;
  // A node client may send headers with the upgrade, as a proxy in front of the server would.
  class Socket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, requestId ? { headers: { 'x-request-id': requestId } } : {});
    }
  }
  const client = createWsClient({
    url,
    webSocketImpl: Socket,
    lazy: false,
    retryAttempts: 0,
    ...(options.connectionParams ? { connectionParams: options.connectionParams } : {}),
  });
  clients.push(client);
  return client;
}

async function collect(client: Client, query: string, variables?: Record<string, unknown>): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const result of client.iterate({ query, ...(variables ? { variables } : {}) })) values.push(result);
  return values;
}

const parseContext = (value: unknown): LogContext => JSON.parse(value as string) as LogContext;

describe('useRequestLogging: context over HTTP', () => {
  test('resolvers and the work they leave running see the request id, operation name and type', async () => {
    const { url, lines } = await start();
    const answer = await post(url, { query: 'query Chats { context(tag: "resolver") background(tag: "bg") }' });
    expect(answer.status).toBe(200);
    expect(answer.id).toMatch(UUID);
    const inResolver = parseContext(answer.body.data?.context);
    expect(inResolver).toMatchObject({ requestId: answer.id, operationName: 'Chats', operationType: 'query' });
    // setTimeout, setImmediate, a promise left running and a microtask, all after the answer.
    const background = await noted('bg', 4);
    for (const context of background) {
      expect(context).toMatchObject({ requestId: answer.id, operationName: 'Chats', operationType: 'query' });
    }
    const [line] = operationLines(lines);
    expect(line).toMatchObject({
      level: 30,
      msg: 'GraphQL operation',
      requestId: answer.id,
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Chats',
      'event.outcome': 'success',
    });
    expect(line?.['event.duration']).toBeGreaterThan(0);
    expect(Number.isInteger(line?.['event.duration'])).toBe(true);
  });

  test('uses a safe incoming x-request-id and echoes it', async () => {
    const { url } = await start();
    const answer = await post(url, { query: '{ context }' }, { 'x-request-id': 'edge-4f2a.91:7' });
    expect(answer.id).toBe('edge-4f2a.91:7');
    expect(parseContext(answer.body.data?.context).requestId).toBe('edge-4f2a.91:7');
  });

  test('replaces an attacker-supplied x-request-id (huge, spaces, tabs, quotes, non-ASCII) with a new one', async () => {
    const { url, lines } = await start();
    const attacks = ['a'.repeat(10_000), 'x injected=1', 'x\tinjected', '"><script>alert(1)</script>', 'café', '1,2'];
    for (const attack of attacks) {
      const answer = await post(url, { query: '{ context }' }, { 'x-request-id': attack });
      expect(answer.id).toMatch(UUID);
      expect(parseContext(answer.body.data?.context).requestId).toBe(answer.id);
    }
    for (const line of lines) expect(attacks).not.toContain(line.requestId);
  });

  test('two concurrent requests, interleaved on purpose, never see each other’s id', async () => {
    const { url } = await start();
    const [a, b] = await Promise.all([
      post(url, { query: '{ meet(tag: "a", other: "b") }' }, { 'x-request-id': 'request-a' }),
      post(url, { query: '{ meet(tag: "b", other: "a") }' }, { 'x-request-id': 'request-b' }),
    ]);
    expect(a.id).toBe('request-a');
    expect(b.id).toBe('request-b');
    expect(parseContext(a.body.data?.meet).requestId).toBe('request-a');
    expect(parseContext(b.body.data?.meet).requestId).toBe('request-b');
    for (const tag of ['a', 'b']) {
      for (const when of ['before', 'after']) {
        expect((await noted(`${tag}:${when}`, 1)).map((context) => context.requestId)).toEqual([`request-${tag}`]);
      }
    }
  });

  test('a user id set in the operation holds for the rest of it and its line, and not for the next request', async () => {
    const { url, lines } = await start();
    const first = await post(url, { query: 'mutation SignIn { login(userId: "u-42") context }' });
    expect(parseContext(first.body.data?.context)).toMatchObject({ requestId: first.id, userId: 'u-42' });
    const second = await post(url, { query: 'mutation Again { context }' });
    expect(parseContext(second.body.data?.context).userId).toBeUndefined();
    const [signIn, again] = operationLines(lines);
    expect(signIn).toMatchObject({ userId: 'u-42', 'graphql.operation.type': 'mutation', requestId: first.id });
    expect(again?.userId).toBeUndefined();
  });

  test('context building shares the operation’s context: its user id reaches resolvers and the line', async () => {
    const { url, lines } = await start();
    const answer = await post(url, { query: '{ context }' }, { 'x-user': 'u-7' });
    expect(parseContext(answer.body.data?.context)).toMatchObject({ userId: 'u-7', requestId: answer.id });
    expect(operationLines(lines)[0]).toMatchObject({ userId: 'u-7' });
  });

  test('keeps the id of a request context set before yoga (requestContext middleware)', async () => {
    const { url, lines } = await start({ middleware: true });
    const answer = await post(url, { query: '{ context }' });
    expect(answer.id).toBe('from-middleware');
    expect(parseContext(answer.body.data?.context).requestId).toBe('from-middleware');
    expect(operationLines(lines)[0]?.requestId).toBe('from-middleware');
  });

  test('under Fastify, keeps the id of fastifyRequestContext (Fastify’s request.id with fastifyRequestId)', async () => {
    const { log, lines } = capture();
    const yoga = createYoga({
      schema,
      logging: false,
      plugins: [useRequestLogging({ logger: log, requestId: { generateId: () => 'from-yoga' } })],
    });
    const app = Fastify({ genReqId: fastifyRequestId({ generateId: () => 'from-fastify' }) });
    await app.register(fastifyRequestContext);
    app.route({
      url: yoga.graphqlEndpoint,
      method: ['GET', 'POST', 'OPTIONS'],
      handler: async (req, reply) => {
        const response = await yoga.handleNodeRequestAndResponse(req, reply);
        for (const [name, value] of response.headers) void reply.header(name, value);
        void reply.status(response.status);
        return reply.send(response.body);
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    running.push({ url: '', wsUrl: '', server: app.server, close: () => app.close() });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/graphql`;
    const answer = await post(url, { query: 'query OnFastify { context }' });
    expect(answer.id).toBe('from-fastify');
    expect(parseContext(answer.body.data?.context)).toMatchObject({
      requestId: 'from-fastify',
      operationName: 'OnFastify',
    });
    expect(operationLines(lines)[0]?.requestId).toBe('from-fastify');
  });

  test('each operation of a batch has its own context and line, under the request’s id', async () => {
    const { url, lines } = await start({ batching: true });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'batch-1' },
      body: JSON.stringify([{ query: 'query One { context }' }, { query: 'mutation Two { context }' }]),
    });
    const [one, two] = (await response.json()) as { data: { context: string } }[];
    expect(parseContext(one?.data.context)).toMatchObject({ requestId: 'batch-1', operationName: 'One' });
    expect(parseContext(two?.data.context)).toMatchObject({ requestId: 'batch-1', operationName: 'Two' });
    expect(
      operationLines(lines)
        .map((line) => line['graphql.operation.name'])
        .sort(),
    ).toEqual(['One', 'Two']);
  });

  test('responseHeader: false leaves the response without the id', async () => {
    const { url } = await start({ requestId: { responseHeader: false } });
    const answer = await post(url, { query: '{ context }' });
    expect(answer.id).toBeNull();
    expect(parseContext(answer.body.data?.context).requestId).toMatch(UUID);
  });
});

describe('useRequestLogging: one line per operation', () => {
  test('a coded client error (403) is logged at info, with its code and no stack', async () => {
    const { url, lines } = await start();
    const answer = await post(url, { query: 'query Mine { forbidden }' });
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const [line] = operationLines(lines);
    expect(line).toMatchObject({
      level: 30,
      'event.outcome': 'failure',
      'graphql.errors.codes': ['FORBIDDEN'],
      'graphql.errors.count': 1,
    });
    expect(line?.err).toBeUndefined();
  });

  test('validation errors, bad variables and syntax errors are client errors at info', async () => {
    const { url, lines } = await start();
    await post(url, { query: 'query Unknown { nope }' });
    await post(url, { query: 'query Count($n: Int!) { count(n: $n) }', variables: { n: 'many' } });
    await post(url, { query: '{ context ' });
    const [unknown, variables, syntax] = operationLines(lines);
    expect(unknown).toMatchObject({
      level: 30,
      'event.outcome': 'failure',
      'graphql.operation.name': 'Unknown',
      'graphql.errors.codes': ['GRAPHQL_VALIDATION_FAILED'],
    });
    expect(variables).toMatchObject({ level: 30, 'event.outcome': 'failure', 'graphql.operation.name': 'Count' });
    expect(syntax).toMatchObject({ level: 30, 'event.outcome': 'failure' });
    for (const line of [unknown, variables, syntax]) expect(line?.err).toBeUndefined();
  });

  test('a server fault is logged at error with the original error and its stack; the client sees it masked', async () => {
    const { url, lines } = await start();
    const answer = await post(url, { query: 'query Broken { boom }' });
    expect(answer.body.errors?.[0]?.message).toBe('Unexpected error.');
    const [line] = operationLines(lines);
    expect(line).toMatchObject({
      level: 50,
      msg: 'GraphQL operation failed',
      requestId: answer.id,
      'graphql.operation.name': 'Broken',
      'event.outcome': 'failure',
      'graphql.errors.codes': ['INTERNAL_SERVER_ERROR'],
      err: { message: 'database exploded' },
    });
    expect((line?.err as { stack?: string } | undefined)?.stack).toContain('database exploded');
    expect((line?.err as { stack?: string } | undefined)?.stack).toContain('yoga.test.ts');
  });

  test('a coded answer with a 5xx status is an outage: warn, no stack (the server chose to answer it)', async () => {
    const { url, lines } = await start();
    await post(url, { query: '{ unavailable }' });
    const [line] = operationLines(lines);
    expect(line).toMatchObject({
      level: 40,
      msg: 'GraphQL operation answered with a server error',
      'graphql.errors.codes': ['SERVICE_UNAVAILABLE'],
      'event.outcome': 'failure',
    });
    expect(line).not.toHaveProperty('err');
  });

  test("with the server's maskError, errors are classified as the client sees them", async () => {
    const unmasked = await start();
    await post(unmasked.url, { query: '{ refused }' });
    // Without the mask a plain Error is what yoga hides: a fault.
    expect(operationLines(unmasked.lines)[0]).toMatchObject({ level: 50, err: { message: 'not yours' } });

    const { url, lines } = await start({ maskError: serverMask });
    await post(url, { query: 'query Refused { refused }' });
    await post(url, { query: 'query Down { databaseDown }' });
    await post(url, { query: 'query Broken { boom }' });
    const [refused, down, broken] = operationLines(lines);
    expect(refused).toMatchObject({ level: 30, 'graphql.errors.codes': ['FORBIDDEN'] });
    expect(refused).not.toHaveProperty('err');
    expect(down).toMatchObject({ level: 40, 'graphql.errors.codes': ['DATABASE_UNAVAILABLE'] });
    expect(down).not.toHaveProperty('err');
    // A real fault keeps its original error and stack, not the mask's message.
    expect(broken).toMatchObject({ level: 50, err: { message: 'database exploded' } });
    expect(String((broken?.err as { stack?: unknown } | undefined)?.stack)).toContain('database exploded');
  });

  test('a maskError that throws leaves the error classified as thrown; a bad maskError is a TypeError', async () => {
    const { url, lines } = await start({
      maskError: () => {
        throw new Error('mask broke');
      },
    });
    await post(url, { query: '{ forbidden }' });
    expect(operationLines(lines)[0]).toMatchObject({ level: 30, 'graphql.errors.codes': ['FORBIDDEN'] });
    expect(() => useRequestLogging({ logger: capture().log, maskError: 'yes' as never })).toThrow(
      /useRequestLogging: maskError must be a function/,
    );
  });

  test('sampleRate 0 drops successes but keeps failures and faults', async () => {
    const { url, lines } = await start({ sampleRate: 0 });
    for (let i = 0; i < 5; i++) await post(url, { query: '{ context }' });
    await post(url, { query: '{ forbidden }' });
    await post(url, { query: '{ unavailable }' });
    await post(url, { query: '{ boom }' });
    expect(operationLines(lines).map((line) => line.level)).toEqual([30, 40, 50]);
  });

  test('slow operations are logged at warn whatever the sampling', async () => {
    const { url, lines } = await start({ sampleRate: 0, slowOperationMs: 200 });
    await post(url, { query: 'query Quick { slow(ms: 0) }' });
    await post(url, { query: 'query Sluggish { slow(ms: 250) }' });
    const logged = operationLines(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 40, msg: 'slow GraphQL operation', 'graphql.operation.name': 'Sluggish' });
    expect(logged[0]?.['event.duration']).toBeGreaterThanOrEqual(250e6);
  });

  test('a logger that throws never fails an operation, over HTTP or graphql-ws', async () => {
    const throwing = () => {
      throw new Error('disk full');
    };
    const { url, wsUrl } = await start({
      logger: { info: throwing, warn: throwing, error: throwing, debug: throwing },
    });
    expect((await post(url, { query: '{ count(n: 3) }' })).body.data?.count).toBe(3);
    expect((await post(url, { query: '{ boom }' })).body.errors).toHaveLength(1);
    const client = wsClient(wsUrl);
    expect(await collect(client, 'subscription { ticks(tag: "t", count: 2) }')).toHaveLength(2);
  });
});

describe('useRequestLogging: graphql-ws', () => {
  test('two operations on one socket have their own ids, in resolvers, event resolvers and lines', async () => {
    const { wsUrl, lines } = await start();
    const client = wsClient(wsUrl);
    const [first, second] = await Promise.all([
      collect(client, 'subscription First { ticks(tag: "first", count: 3) }'),
      collect(client, 'subscription Second { ticks(tag: "second", count: 3) }'),
    ]);
    const contexts = (results: unknown[]) =>
      results.map(
        (result) => (JSON.parse((result as { data: { ticks: string } }).data.ticks) as { context: LogContext }).context,
      );
    const firstIds = new Set(contexts(first as unknown[]).map((context) => context.requestId));
    const secondIds = new Set(contexts(second as unknown[]).map((context) => context.requestId));
    expect(firstIds.size).toBe(1);
    expect(secondIds.size).toBe(1);
    const [firstId] = firstIds;
    const [secondId] = secondIds;
    expect(firstId).toMatch(UUID);
    expect(secondId).toMatch(UUID);
    expect(firstId).not.toBe(secondId);
    // The source stream, each event's resolver and the work it awaits, per operation.
    for (const [tag, id, name] of [
      ['first', firstId, 'First'],
      ['second', secondId, 'Second'],
    ] as const) {
      for (const where of ['source', 'event', 'event-after']) {
        for (const context of await noted(`${tag}:${where}`, 3)) {
          expect(context).toMatchObject({ requestId: id, operationName: name, operationType: 'subscription' });
        }
      }
    }
    const connectionIds = contexts([...first, ...second]).map((context) => context.connectionId);
    expect(new Set(connectionIds).size).toBe(1);
    expect(connectionIds[0]).toMatch(UUID);
    expect([firstId, secondId]).not.toContain(connectionIds[0]);
    // One line per subscription, when it ends, with the events it sent.
    await vi.waitFor(() => expect(operationLines(lines)).toHaveLength(2));
    const byName = Object.fromEntries(operationLines(lines).map((line) => [line['graphql.operation.name'], line]));
    expect(byName.First).toMatchObject({ requestId: firstId, 'graphql.events': 3, 'event.outcome': 'success' });
    expect(byName.Second).toMatchObject({ requestId: secondId, 'graphql.events': 3, 'event.outcome': 'success' });
  });

  test('the connection id is the upgrade request’s safe x-request-id; the user from connectionParams follows', async () => {
    const { wsUrl, lines } = await start();
    const client = wsClient(wsUrl, { requestId: 'socket-9', connectionParams: { userId: 'u-5' } });
    const [query] = (await collect(client, 'query Over { context }')) as { data: { context: string } }[];
    const context = parseContext(query?.data.context);
    expect(context).toMatchObject({ connectionId: 'socket-9', userId: 'u-5', operationName: 'Over' });
    expect(context.requestId).toMatch(UUID);
    expect(operationLines(lines)[0]).toMatchObject({
      connectionId: 'socket-9',
      userId: 'u-5',
      requestId: context.requestId,
    });
  });

  test('a hostile x-request-id on the upgrade is not used as the connection id', async () => {
    const { wsUrl } = await start();
    const client = wsClient(wsUrl, { requestId: 'x'.repeat(500) });
    const [query] = (await collect(client, '{ context }')) as { data: { context: string } }[];
    expect(parseContext(query?.data.context).connectionId).toMatch(UUID);
  });

  test('a subscription whose stream fails is logged at error with the events it sent', async () => {
    const { wsUrl, lines } = await start();
    const client = wsClient(wsUrl);
    await expect(collect(client, 'subscription Failing { failing }')).rejects.toBeTruthy();
    await vi.waitFor(() => expect(operationLines(lines)).toHaveLength(1));
    expect(operationLines(lines)[0]).toMatchObject({
      level: 50,
      'graphql.operation.name': 'Failing',
      'graphql.events': 1,
      'event.outcome': 'failure',
      err: { message: 'stream broke' },
    });
  });

  test('a validation error over graphql-ws is a client error at info', async () => {
    const { wsUrl, lines } = await start();
    const client = wsClient(wsUrl);
    await expect(collect(client, 'query Bad { nope }')).rejects.toBeTruthy();
    await vi.waitFor(() => expect(operationLines(lines)).toHaveLength(1));
    expect(operationLines(lines)[0]).toMatchObject({
      level: 30,
      'graphql.operation.name': 'Bad',
      'graphql.errors.codes': ['GRAPHQL_VALIDATION_FAILED'],
    });
  });

  test('a subscription stopped by its client ends with a success line', async () => {
    const { wsUrl, lines } = await start();
    const client = wsClient(wsUrl);
    const iterator = client.iterate({ query: 'subscription Long { ticks(tag: "long", count: 1000) }' });
    await iterator.next();
    await iterator.next();
    await iterator.return?.();
    await vi.waitFor(() => expect(operationLines(lines)).toHaveLength(1));
    const [line] = operationLines(lines);
    expect(line).toMatchObject({ 'graphql.operation.name': 'Long', 'event.outcome': 'success' });
    expect(line?.['graphql.events']).toBeGreaterThanOrEqual(2);
  });
});

describe('useRequestLogging: SSE', () => {
  test('a subscription over SSE carries the request id into every event and ends with one line', async () => {
    const { url, lines } = await start();
    let responseId: string | null = null;
    const client = createSseClient({
      url,
      singleConnection: false,
      retryAttempts: 0,
      headers: { 'x-request-id': 'sse-stream-1' },
      fetchFn: async (input: RequestInfo | URL, init?: RequestInit) => {
        const response = await fetch(input, init);
        responseId = response.headers.get('x-request-id');
        return response;
      },
    });
    const events: LogContext[] = [];
    for await (const result of client.iterate({ query: 'subscription Ticks { ticks(tag: "sse", count: 3) }' })) {
      events.push((JSON.parse((result.data as { ticks: string }).ticks) as { context: LogContext }).context);
    }
    client.dispose();
    expect(responseId).toBe('sse-stream-1');
    expect(events).toHaveLength(3);
    for (const context of events) {
      expect(context).toMatchObject({
        requestId: 'sse-stream-1',
        operationName: 'Ticks',
        operationType: 'subscription',
      });
    }
    for (const context of await noted('sse:event-after', 3)) expect(context.requestId).toBe('sse-stream-1');
    await vi.waitFor(() => expect(operationLines(lines)).toHaveLength(1));
    expect(operationLines(lines)[0]).toMatchObject({
      requestId: 'sse-stream-1',
      'graphql.operation.type': 'subscription',
      'graphql.events': 3,
      'event.outcome': 'success',
    });
    // debug is given: the stream's start has its own line.
    expect(lines.find((line) => line.msg === 'GraphQL stream started')).toMatchObject({ requestId: 'sse-stream-1' });
  });
});

describe('useRequestLogging: options', () => {
  const logger = pino({ enabled: false });
  test.each([
    [undefined, /options must be an object/],
    [{}, /logger must have info, warn and error/],
    [{ logger: { info() {} } }, /logger must have info, warn and error/],
    [{ logger, sampleRate: 2 }, /sampleRate must be a number from 0 to 1/],
    [{ logger, sampleRate: Number.NaN }, /sampleRate/],
    [{ logger, slowOperationMs: -1 }, /slowOperationMs/],
    [{ logger, slowOperationMs: '100' }, /slowOperationMs/],
    [{ logger, requestId: { header: 'bad header' } }, /requestId\.header must be an HTTP header name/],
    [{ logger, requestId: { generateId: 'uuid' } }, /requestId\.generateId must be a function/],
    [{ logger, requestId: { trustIncomingId: 'yes' } }, /requestId\.trustIncomingId must be a boolean/],
  ])('refuses %o', (options, message) => {
    expect(() => useRequestLogging(options as never)).toThrow(TypeError);
    expect(() => useRequestLogging(options as never)).toThrow(message);
  });

  test('takes a pino logger as it is', () => {
    expect(() => useRequestLogging({ logger, sampleRate: 0.5, slowOperationMs: 0 })).not.toThrow();
  });
});
