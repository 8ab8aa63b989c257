import { AuthError } from '@switchboard/auth';
import { createClient } from 'graphql-ws';
import { createGraphQLError, createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { createServerLogger, operationLogging } from '../src/app.ts';
import { AppError } from '../src/chat/errors.ts';
import { createMaskError } from '../src/graphql/errors.ts';
import { type RunningServer, startServer } from '../src/server.ts';
import { capturingLogger, LEVEL, type LogLine, operationLines, requestIdOf, severity } from './log-lines.ts';

// The server's logging wiring (app.ts's `operationLogging`, the error mask, server.ts's request
// context) around a small schema whose resolvers fail in each way the chat server's can.
describe('the chat server logs one line per GraphQL operation, faults once at error', () => {
  const { log, lines } = capturingLogger('debug');
  let server: RunningServer;

  beforeAll(async () => {
    const maskError = createMaskError();
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: `enum Role { MEMBER ADMIN }
          type Query {
            role(role: Role!): Role!
            broken: String
            unavailable: String
            forbidden: String
            badKey: String
            requestId: String
          }`,
        resolvers: {
          Query: {
            role: (_: unknown, args: { role: string }) => args.role,
            broken: () => {
              throw new Error('connection to 10.0.0.7 refused');
            },
            unavailable: () => {
              throw createGraphQLError('the database is not answering; try again shortly', {
                extensions: { code: 'DATABASE_UNAVAILABLE', http: { status: 503 } },
              });
            },
            forbidden: () => {
              throw new AppError('FORBIDDEN', 'not a participant of this chat');
            },
            badKey: () => {
              throw new AuthError('INVALID_KEY', 'key k1 has no private part');
            },
            requestId: () => {
              log.info('inside a resolver');
              return 'ok';
            },
          },
        },
      }),
      graphqlEndpoint: '/graphql',
      maskedErrors: { maskError },
      logging: false,
      plugins: operationLogging(log, maskError),
    });
    server = await startServer({ port: 0, host: '127.0.0.1' }, yoga, {
      '/ready': async (_request, response) => {
        log.info('ready asked');
        response.end('ok');
      },
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  const post = async (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    lines.length = 0;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    return { status: response.status, body, requestId: response.headers.get('x-request-id') };
  };
  const errorLines = () => lines.filter((line) => severity(line) >= LEVEL.error);
  const onlyOperationLine = (): LogLine => {
    const operations = operationLines(lines);
    expect(operations).toHaveLength(1);
    return operations[0] as LogLine;
  };

  test('a success: one info line with the operation, its outcome, its duration and the request id', async () => {
    const { requestId } = await post('query WhoAsks { requestId }');
    const line = onlyOperationLine();
    expect(line).toMatchObject({
      'log.level': 'info',
      message: 'GraphQL operation',
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'WhoAsks',
      'event.outcome': 'success',
      'service.name': 'chat-server',
    });
    expect(line['event.duration']).toEqual(expect.any(Number));
    expect(requestIdOf(line)).toBe(requestId);
    // A resolver's own line carries the request and the operation too.
    const inside = lines.find((entry) => entry.message === 'inside a resolver');
    expect(inside).toMatchObject({ 'graphql.operation.name': 'WhoAsks' });
    expect(requestIdOf(inside)).toBe(requestId);
  });

  test("a safe X-Request-Id is kept, echoed and on the operation's line", async () => {
    const { requestId } = await post('{ requestId }', {}, { 'x-request-id': 'lb-7f3a.42' });
    expect(requestId).toBe('lb-7f3a.42');
    expect(requestIdOf(onlyOperationLine())).toBe('lb-7f3a.42');
  });

  test('a hostile X-Request-Id (quotes, spaces, a forged field, 300 characters) is replaced by a new id', async () => {
    for (const hostile of ['a" "log.level":"fatal', 'x'.repeat(300), 'id with spaces']) {
      const { requestId } = await post('{ requestId }', {}, { 'x-request-id': hostile });
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(requestIdOf(onlyOperationLine())).toBe(requestId);
      expect(JSON.stringify(lines)).not.toContain(hostile);
    }
  });

  test('an unknown enum value in a variable: BAD_USER_INPUT, one info line with its code', async () => {
    const { status, body } = await post('query($role: Role!) { role(role: $role) }', { role: 'KING' });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toContain('KING');
    expect(errorLines()).toEqual([]);
    expect(onlyOperationLine()).toMatchObject({
      'log.level': 'info',
      'graphql.errors.codes': ['BAD_USER_INPUT'],
      'graphql.errors.count': 1,
      'event.outcome': 'failure',
    });
  });

  test('a variable of the wrong type and a missing one: BAD_USER_INPUT at info', async () => {
    const wrongType = await post('query($role: Role!) { role(role: $role) }', { role: { nested: true } });
    expect(wrongType.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errorLines()).toEqual([]);
    expect(onlyOperationLine()).toMatchObject({ 'log.level': 'info', 'graphql.errors.codes': ['BAD_USER_INPUT'] });

    const missing = await post('query($role: Role!) { role(role: $role) }');
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errorLines()).toEqual([]);
  });

  test('a validation error: info, GRAPHQL_VALIDATION_FAILED', async () => {
    const { status } = await post('{ nope }');
    expect(status).toBe(400);
    expect(errorLines()).toEqual([]);
    expect(onlyOperationLine()).toMatchObject({
      'log.level': 'info',
      'graphql.errors.codes': ['GRAPHQL_VALIDATION_FAILED'],
    });
  });

  test("a domain refusal (AppError FORBIDDEN) thrown by a resolver: info with the client's code, no stack", async () => {
    const { body } = await post('{ forbidden }');
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(errorLines()).toEqual([]);
    const line = onlyOperationLine();
    expect(line).toMatchObject({ 'log.level': 'info', 'graphql.errors.codes': ['FORBIDDEN'] });
    expect(line).not.toHaveProperty('error');
  });

  test('a coded error with a 5xx status (the database not answering): warn with its code, no stack', async () => {
    const { status } = await post('{ unavailable }');
    expect(status).toBe(503);
    expect(errorLines()).toEqual([]);
    const line = onlyOperationLine();
    expect(line).toMatchObject({ 'log.level': 'warn', 'graphql.errors.codes': ['DATABASE_UNAVAILABLE'] });
    expect(line).not.toHaveProperty('error');
  });

  test('a resolver failing: masked for the client, one error line (the operation’s) with its stack', async () => {
    const { body, requestId } = await post('query Broken { broken }');
    expect(body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(body)).not.toContain('10.0.0.7');
    expect(errorLines()).toHaveLength(1);
    const line = onlyOperationLine();
    expect(line).toBe(errorLines()[0]);
    expect(line).toMatchObject({
      message: 'GraphQL operation failed',
      'graphql.operation.name': 'Broken',
      'graphql.errors.codes': ['INTERNAL_SERVER_ERROR'],
      'event.outcome': 'failure',
      error: { type: 'Error', message: 'connection to 10.0.0.7 refused' },
    });
    expect((line.error as { stack_trace?: string }).stack_trace).toContain('10.0.0.7 refused');
    expect(requestIdOf(line)).toBe(requestId);
  });

  test('a bad signing key: masked for the client, one error line with the key error and its code', async () => {
    const { body } = await post('{ badKey }');
    expect(body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(body)).not.toContain('k1');
    expect(errorLines()).toHaveLength(1);
    expect(onlyOperationLine()).toMatchObject({
      'log.level': 'error',
      error: { type: 'AuthError', code: 'INVALID_KEY', message: 'key k1 has no private part' },
    });
  });

  test('over graphql-ws: a fault is masked for the client and logged once, with its stack, on its own request id', async () => {
    lines.length = 0;
    const client = createClient({
      url: server.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      const outcome = await new Promise<{ errors?: readonly { message: string }[] }>((resolve, reject) => {
        let result: { errors?: readonly { message: string }[] } = {};
        client.subscribe(
          { query: 'query Broken { broken }' },
          {
            next: (value) => {
              result = value as typeof result;
            },
            error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
            complete: () => resolve(result),
          },
        );
      });
      expect(outcome.errors?.[0]?.message).toBe('Unexpected error.');
      expect(JSON.stringify(outcome)).not.toContain('10.0.0.7');
    } finally {
      await client.dispose();
    }
    expect(errorLines()).toHaveLength(1);
    const line = onlyOperationLine();
    expect(line).toMatchObject({ 'log.level': 'error', 'graphql.operation.name': 'Broken' });
    expect((line.error as { stack_trace?: string }).stack_trace).toContain('10.0.0.7 refused');
    expect(line.connectionId).toEqual(expect.any(String));
    expect(requestIdOf(line)).not.toBe(line.connectionId);
  });

  test('plain routes (/ready) run in a request context too: the id is echoed and on their lines', async () => {
    lines.length = 0;
    const response = await fetch(server.url.replace('/graphql', '/ready'), { headers: { 'x-request-id': 'probe-1' } });
    expect(await response.text()).toBe('ok');
    expect(response.headers.get('x-request-id')).toBe('probe-1');
    const line = lines.find((entry) => entry.message === 'ready asked');
    expect(requestIdOf(line)).toBe('probe-1');
  });
});

describe('createServerLogger', () => {
  test('LOG_FORMAT=pino: plain pino lines (numeric level, msg) for pino-pretty, with the context and redaction', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createServerLogger(
      { environment: 'development', level: 'info', format: 'pino' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    log.info({ authorization: 'Bearer secret-1', input: { password: 'secret-2' } }, 'signed in');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'signed in', name: 'chat-server', environment: 'development' }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-');
  });
});
