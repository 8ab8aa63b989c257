import { createGraphQLError, createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createMaskError } from '../src/graphql/errors.ts';
import { requestScope, useRequestLogging } from '../src/logging.ts';
import { type RunningServer, startServer } from '../src/server.ts';
import { capturingLogger, LEVEL } from './log-lines.ts';

describe('createLogger', () => {
  test("one line's fields do not leak into the next line of the same request", () => {
    const { log, lines } = capturingLogger();
    requestScope.run({ requestId: 'req-1' }, () => {
      log.error({ err: new Error('boom'), operation: 'send' }, 'failed');
      log.info('next step');
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: LEVEL.error, requestId: 'req-1', msg: 'failed', operation: 'send' });
    expect((lines[0]?.err as { stack?: string } | undefined)?.stack).toContain('boom');
    expect(lines[1]).toMatchObject({ level: LEVEL.info, requestId: 'req-1', msg: 'next step' });
    expect(lines[1]).not.toHaveProperty('err');
    expect(lines[1]).not.toHaveProperty('operation');
  });

  test('lines outside a request carry no request id', () => {
    const { log, lines } = capturingLogger();
    log.info('starting');
    expect(lines[0]).not.toHaveProperty('requestId');
  });
});

describe('error levels: client mistakes below error, server faults at error', () => {
  const { log, lines } = capturingLogger();
  let server: RunningServer;

  beforeAll(async () => {
    const yoga = createYoga({
      schema: createSchema({
        typeDefs:
          'enum Role { MEMBER ADMIN } type Query { role(role: Role!): Role! broken: String unavailable: String }',
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
          },
        },
      }),
      graphqlEndpoint: '/graphql',
      maskedErrors: { maskError: createMaskError(log) },
      logging: false,
      plugins: [useRequestLogging(log)],
    });
    server = await startServer({ port: 0, host: '127.0.0.1', log }, yoga);
  });

  afterAll(async () => {
    await server?.close();
  });

  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    lines.length = 0;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    return { status: response.status, body };
  };
  const errorLines = () => lines.filter((line) => line.level >= LEVEL.error);
  const clientErrorLines = () => lines.filter((line) => line.msg === 'GraphQL error');

  test('an unknown enum value in a variable: BAD_USER_INPUT, logged at info with its code', async () => {
    const { status, body } = await post('query($role: Role!) { role(role: $role) }', { role: 'KING' });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toContain('KING');
    expect(errorLines()).toEqual([]);
    expect(clientErrorLines()).toEqual([
      expect.objectContaining({ level: LEVEL.info, code: 'BAD_USER_INPUT', transport: 'http' }),
    ]);
  });

  test('a variable of the wrong type and a missing one: BAD_USER_INPUT at info', async () => {
    const wrongType = await post('query($role: Role!) { role(role: $role) }', { role: { nested: true } });
    expect(wrongType.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errorLines()).toEqual([]);
    expect(clientErrorLines()).toEqual([expect.objectContaining({ level: LEVEL.info, code: 'BAD_USER_INPUT' })]);

    const missing = await post('query($role: Role!) { role(role: $role) }');
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errorLines()).toEqual([]);
  });

  test('a validation error: logged at info with GRAPHQL_VALIDATION_FAILED', async () => {
    const { status } = await post('{ nope }');
    expect(status).toBe(400);
    expect(errorLines()).toEqual([]);
    expect(clientErrorLines()).toEqual([
      expect.objectContaining({ level: LEVEL.info, code: 'GRAPHQL_VALIDATION_FAILED' }),
    ]);
  });

  test('a coded error with a 5xx status (the database not answering): warn, with its code', async () => {
    const { status } = await post('{ unavailable }');
    expect(status).toBe(503);
    expect(errorLines()).toEqual([]);
    expect(clientErrorLines()).toEqual([expect.objectContaining({ level: LEVEL.warn, code: 'DATABASE_UNAVAILABLE' })]);
  });

  test('a resolver failing: masked for the client, logged once at error with its stack', async () => {
    const { body } = await post('{ broken }');
    expect(body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(body)).not.toContain('10.0.0.7');
    expect(errorLines()).toHaveLength(1);
    expect(errorLines()[0]).toMatchObject({ msg: 'unexpected error in a resolver' });
    expect((errorLines()[0]?.err as { stack?: string } | undefined)?.stack).toContain('10.0.0.7 refused');
    expect(clientErrorLines()).toEqual([]);
    // The request's own line comes after the error line, without its fields.
    const requestLine = lines.find((line) => line.msg === 'request');
    expect(requestLine).toBeDefined();
    expect(requestLine).not.toHaveProperty('err');
  });
});
