import { makeExecutableSchema } from '@graphql-tools/schema';
import { buildSchema, GraphQLError, type GraphQLObjectType } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { describe, expect, test } from 'vitest';
import {
  connectionArgsTypeDefs,
  connectionResolver,
  connectionTypeDefs,
  pageInfoTypeDefs,
  toGraphQLError,
  wantsTotalCount,
} from '../src/graphql.ts';
import { type ConnectionArgs, createPaginator, InvalidCursorError, NullSortKeyError } from '../src/index.ts';

const messages = Array.from({ length: 7 }, (_, i) => ({
  id: String(i + 1),
  chatId: i % 2 ? 'b' : 'a',
  text: `m${i + 1}`,
}));
const paginator = createPaginator({ orderBy: [{ field: 'id', direction: 'desc' }], maxPageSize: 3 });

function server() {
  const counts: boolean[] = [];
  const schema = makeExecutableSchema({
    typeDefs: [
      pageInfoTypeDefs,
      connectionTypeDefs('Message', { totalCount: true }),
      connectionTypeDefs('Chat'),
      /* GraphQL */ `
        type Message { id: ID! text: String! }
        type Chat { id: ID! }
        type Query {
          messages(chatId: ID!, ${connectionArgsTypeDefs}): MessageConnection!
          chats(${connectionArgsTypeDefs}): ChatConnection!
        }
      `,
    ],
    resolvers: {
      Query: {
        messages: connectionResolver((_, args: ConnectionArgs & { chatId: string }, _ctx, info) => {
          counts.push(wantsTotalCount(info));
          return paginator.fromArray(
            messages.filter((message) => message.chatId === args.chatId),
            args,
            { queryKey: `chat:${args.chatId}`, totalCount: wantsTotalCount(info) },
          );
        }),
        chats: connectionResolver(() => {
          throw new NullSortKeyError('id');
        }),
      },
    },
  });
  return { yoga: createYoga({ schema, logging: false }), counts };
}

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount?: number;
}

async function run(yoga: ReturnType<typeof createYoga>, query: string, variables: Record<string, unknown> = {}) {
  const response = await yoga.fetch('http://127.0.0.1/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: { messages: Page } | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

const PAGE = /* GraphQL */ `
  query ($chatId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    messages(chatId: $chatId, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

describe('graphql helpers over graphql-yoga', () => {
  test('pages through a connection', async () => {
    const { yoga } = server();
    const first = await run(yoga, PAGE, { chatId: 'a', first: 2 });
    expect(first.data?.messages.edges.map((edge) => edge.node.id)).toEqual(['7', '5']);
    expect(first.data?.messages.pageInfo.hasNextPage).toBe(true);
    const next = await run(yoga, PAGE, { chatId: 'a', first: 5, after: first.data?.messages.pageInfo.endCursor });
    expect(next.data?.messages.edges.map((edge) => edge.node.id)).toEqual(['3', '1']);
  });

  test('a tampered or foreign cursor and a negative first are BAD_USER_INPUT, not a masked error', async () => {
    const { yoga } = server();
    const cursor = (await run(yoga, PAGE, { chatId: 'a', first: 1 })).data?.messages.pageInfo.endCursor as string;
    for (const variables of [
      { chatId: 'a', after: `${cursor.slice(0, -2)}xx` },
      { chatId: 'b', after: cursor },
      { chatId: 'a', before: 'not a cursor' },
    ]) {
      const result = await run(yoga, PAGE, variables);
      expect(result.data).toBeNull();
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(result.errors?.[0]?.message).toMatch(/^Invalid cursor in "(after|before)"\.$/);
    }
    const negative = await run(yoga, PAGE, { chatId: 'a', last: -1 });
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'last' });
  });

  test('a server-side pagination error stays masked', async () => {
    const { yoga } = server();
    const result = await run(yoga, '{ chats { edges { cursor } } }');
    expect(result.errors?.[0]?.message).toBe('Unexpected error.');
    expect(result.errors?.[0]?.extensions?.code).not.toBe('BAD_USER_INPUT');
  });

  test('totalCount is computed only when selected, also through fragments', async () => {
    const { yoga, counts } = server();
    await run(yoga, '{ messages(chatId: "a") { edges { cursor } } }');
    const direct = await run(yoga, '{ messages(chatId: "a") { totalCount } }');
    const fragment = await run(
      yoga,
      '{ messages(chatId: "b") { ...Count } } fragment Count on MessageConnection { ... on MessageConnection { totalCount } }',
    );
    expect(counts).toEqual([false, true, true]);
    expect(direct.data?.messages.totalCount).toBe(4);
    expect(fragment.data?.messages.totalCount).toBe(3);
  });
});

describe('SDL helpers', () => {
  test('build with plain graphql, with or without totalCount and custom names', () => {
    const schema = buildSchema(
      [
        pageInfoTypeDefs,
        connectionTypeDefs('Message'),
        connectionTypeDefs('User', { totalCount: true, connectionName: 'Members', edgeName: 'Member' }),
        `type Message { id: ID! } type User { id: ID! } type Query { m(${connectionArgsTypeDefs}): MessageConnection! u: Members! }`,
      ].join('\n'),
    );
    expect(Object.keys((schema.getType('MessageConnection') as GraphQLObjectType).getFields())).toEqual([
      'edges',
      'pageInfo',
    ]);
    expect(Object.keys((schema.getType('Members') as GraphQLObjectType).getFields())).toEqual([
      'edges',
      'pageInfo',
      'totalCount',
    ]);
    expect(
      String(
        schema
          .getQueryType()
          ?.getFields()
          .m?.args.map((arg) => `${arg.name}: ${arg.type}`),
      ),
    ).toBe('first: Int,after: String,last: Int,before: String');
  });

  test('refuse names that are not GraphQL names', () => {
    expect(() => connectionTypeDefs('Bad Name')).toThrow(TypeError);
    expect(() => connectionTypeDefs('Message', { edgeName: 'x{' })).toThrow(TypeError);
  });

  test('toGraphQLError maps input errors only', () => {
    const mapped = toGraphQLError(new InvalidCursorError('after', 'mismatch'));
    expect(mapped).toBeInstanceOf(GraphQLError);
    expect(mapped.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'after', http: { status: 400 } });
    expect(toGraphQLError(new InvalidCursorError('before', 'malformed'), { http: false }).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      argument: 'before',
    });
    const wrapper = new GraphQLError('wrapped', { path: ['chat', 'messages'] });
    expect(toGraphQLError(new InvalidCursorError('after', 'mismatch'), { from: wrapper }).path).toEqual([
      'chat',
      'messages',
    ]);
    const other = new Error('boom');
    expect(toGraphQLError(other)).toBe(other);
  });
});
