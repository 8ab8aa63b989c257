import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, graphql } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  RBAC_ERROR_TABLE,
  requiresDirective,
  requiresDirectiveTypeDefs,
  toGraphQLError,
  withPermission,
} from '../src/graphql.ts';
import { createRbac, ForbiddenError, InvalidPolicyError, type Rbac } from '../src/index.ts';

interface Context {
  userId?: string;
}

let rbac: Rbac;
beforeAll(async () => {
  rbac = await createRbac({
    roles: {
      member: { permissions: ['message:send', 'chat:read'] },
      admin: { inherits: ['member'], permissions: ['chat:*'] },
    },
  });
  await rbac.grant('alice', 'admin', 'chat:1');
  await rbac.grant('bob', 'member', 'chat:1');
});

const typeDefs = /* GraphQL */ `
  ${requiresDirectiveTypeDefs}
  type Query {
    chatTitle(chatId: ID!): String @requires(permission: "chat:read", scope: "chat:{chatId}")
    serverStats: String @requires(permission: "server:read")
  }
  type Mutation {
    renameChat(chatId: ID!, title: String!): String @requires(permission: "chat:rename", scope: "chat:{chatId}")
  }
`;

function schema() {
  const base = makeExecutableSchema({
    typeDefs,
    resolvers: {
      Query: { chatTitle: (_s: unknown, args: { chatId: string }) => `chat ${args.chatId}`, serverStats: () => 'ok' },
      Mutation: { renameChat: (_s: unknown, args: { title: string }) => args.title },
    },
  });
  return requiresDirective<Context>(rbac, { userId: (context) => context.userId })(base);
}

async function run(source: string, userId?: string) {
  return graphql({ schema: schema(), source, contextValue: userId ? { userId } : {} });
}

describe('@requires directive', () => {
  test('allows within the scope named by the argument, refuses elsewhere with FORBIDDEN', async () => {
    expect((await run('mutation { renameChat(chatId: "1", title: "x") }', 'alice')).data).toEqual({ renameChat: 'x' });
    const elsewhere = await run('mutation { renameChat(chatId: "2", title: "x") }', 'alice');
    expect(elsewhere.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      permission: 'chat:rename',
      scope: 'chat:2',
    });
    const member = await run('mutation { renameChat(chatId: "1", title: "x") }', 'bob');
    expect(member.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await run('{ chatTitle(chatId: "1") }', 'bob')).data).toEqual({ chatTitle: 'chat 1' });
  });

  test('a denial is an error, never a silent null; anonymous callers are refused', async () => {
    const result = await run('{ serverStats }', 'alice');
    expect(result.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await run('{ chatTitle(chatId: "1") }')).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  test('a scope placeholder that is not an argument fails when the schema is built', () => {
    const broken = makeExecutableSchema({
      typeDefs: `${requiresDirectiveTypeDefs} type Query { chatTitle(id: ID!): String @requires(permission: "chat:read", scope: "chat:{chatId}") }`,
    });
    expect(() => requiresDirective<Context>(rbac, { userId: (context) => context.userId })(broken)).toThrow(
      /names "\{chatId\}", which is not an argument/,
    );
  });

  test('works behind graphql-yoga: FORBIDDEN reaches the client unmasked', async () => {
    const yoga = createYoga<Context>({
      logging: false,
      schema: requiresDirective<Context>(rbac, { userId: (context) => context.userId })(
        createSchema({
          typeDefs,
          resolvers: { Mutation: { renameChat: (_s: unknown, args: { title: string }) => args.title } },
        }),
      ),
      context: ({ request }) => ({ userId: request.headers.get('x-user') ?? undefined }),
    });
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user': 'bob' },
      body: JSON.stringify({ query: 'mutation { renameChat(chatId: "1", title: "x") }' }),
    });
    const body = (await response.json()) as { errors?: { extensions: { code: string } }[] };
    expect(body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });
});

describe('withPermission (code-first)', () => {
  test('wraps one resolver, with the scope computed from the arguments', async () => {
    const resolve = withPermission<unknown, Context, { chatId: string }>(
      rbac,
      { permission: 'chat:rename', scope: (args) => `chat:${args.chatId}`, userId: (context) => context.userId },
      () => 'renamed',
    );
    const info = {} as never;
    expect(await resolve(undefined, { chatId: '1' }, { userId: 'alice' }, info)).toBe('renamed');
    await expect(resolve(undefined, { chatId: '1' }, { userId: 'bob' }, info)).rejects.toMatchObject({
      extensions: { code: 'FORBIDDEN' },
    });
  });
});

describe('toGraphQLError (@switchboard/rbac/graphql)', () => {
  test('a denial is FORBIDDEN with HTTP 403, the permission and the scope', () => {
    const error = toGraphQLError(new ForbiddenError('chat:rename', 'chat:2'));
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error.message).toBe('not allowed: chat:rename in chat:2');
    expect(error.extensions).toEqual({
      code: 'FORBIDDEN',
      permission: 'chat:rename',
      scope: 'chat:2',
      http: { status: 403 },
    });
    expect(RBAC_ERROR_TABLE.FORBIDDEN.status).toBe(403);
  });

  test('a bad policy is a masked INTERNAL_SERVER_ERROR: its message names roles only the log should see', () => {
    const error = toGraphQLError(new InvalidPolicyError('role "admin" inherits unknown role "secret-ops"'));
    expect(error.message).toBe('Unexpected error.');
    expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', http: { status: 500 } });
  });

  test('from supplies the path; http: false leaves the status to the server', () => {
    const from = new GraphQLError('wrapped', { path: ['renameChat'] });
    const error = toGraphQLError(new ForbiddenError('chat:rename', undefined), { from, http: false });
    expect(error.path).toEqual(['renameChat']);
    expect(error.extensions).toEqual({ code: 'FORBIDDEN', permission: 'chat:rename' });
    expect(error.originalError).toBeUndefined();
  });
});
