import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { messageContentSchema, parseInput, uuidSchema } from '../src/index.ts';
import { findUnstorableInput } from '../src/storable-input.ts';
import {
  hardenedPlugins,
  hardenedYogaOptions,
  useRequestBodyLimit,
  useStorableInput,
  useValidationErrors,
} from '../src/yoga.ts';

const SendMessageInput = v.object({ chatId: uuidSchema, content: messageContentSchema({ maxLength: 20 }) });

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Message { id: ID!, content: String!, author: User! }
    type User { id: ID!, name: String!, friends: [User!]!, messages: [Message!]! }
    input SendMessageInput { chatId: ID!, content: String! }
    type Query { me: User!, hello: String!, boom: String }
    type Mutation { sendMessage(input: SendMessageInput!): Message! }
  `,
  resolvers: {
    Query: {
      me: () => ({ id: 'u1', name: 'Zoé' }),
      hello: () => 'hi',
      boom: () => {
        throw new Error('database password is hunter2');
      },
    },
    User: { friends: () => [{ id: 'u2', name: 'Max' }], messages: () => [] },
    Mutation: {
      sendMessage: (_: unknown, args: { input: unknown }) => {
        const input = parseInput(SendMessageInput, args.input);
        return { id: 'm1', content: input.content, author: { id: 'u1', name: 'Zoé' } };
      },
    },
  },
});

function server(plugins: Plugin[], extra: Record<string, unknown> = {}) {
  const yoga = createYoga({ schema, plugins, logging: false, ...extra });
  return async (query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const response = await yoga.fetch('http://yoga.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { data?: unknown; errors?: Record<string, unknown>[] },
    };
  };
}

const SEND = /* GraphQL */ `
  mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id content } }
`;

describe('useValidationErrors on a real yoga', () => {
  test('maps a ValidationError thrown by a resolver to BAD_USER_INPUT with the issues and HTTP 400', async () => {
    const run = server([useValidationErrors()]);
    const { status, body } = await run(SEND, { input: { chatId: 'nope', content: 'x'.repeat(30) } });
    expect(status).toBe(400);
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      {
        message: 'invalid input: chatId: must be a UUID (and 1 more)',
        locations: [{ line: 2, column: 46 }],
        path: ['sendMessage'],
        extensions: {
          code: 'BAD_USER_INPUT',
          issues: [
            { path: ['chatId'], message: 'must be a UUID' },
            { path: ['content'], message: 'must be at most 20 characters' },
          ],
        },
      },
    ]);
  });

  test('valid input goes through, sanitized', async () => {
    const run = server([useValidationErrors()]);
    const { status, body } = await run(SEND, {
      input: { chatId: '0191f0c2-7a7b-7c3d-8e9f-0a1b2c3d4e5f', content: '<b onclick=x>hi</b>' },
    });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { sendMessage: { id: 'm1', content: '<b>hi</b>' } } });
  });

  test('without the plugin yoga masks the error; other errors stay masked with it', async () => {
    const plain = server([]);
    const masked = await plain(SEND, { input: { chatId: 'nope', content: 'x' } });
    expect(masked.body.errors?.[0]?.message).toBe('Unexpected error.');
    const run = server([useValidationErrors()]);
    const boom = await run('{ boom }');
    expect(boom.body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(JSON.stringify(boom.body)).not.toContain('hunter2');
  });

  test('httpStatus: false leaves the status to yoga', async () => {
    const run = server([useValidationErrors({ httpStatus: false })]);
    const { status, body } = await run(SEND, { input: { chatId: 'nope', content: 'x' } });
    expect(status).toBe(200);
    expect(body.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      issues: [{ path: ['chatId'], message: 'must be a UUID' }],
    });
  });

  test('maps errors of subscriptions too, thrown while the event stream runs', async () => {
    const subscriptions = createSchema({
      typeDefs: 'type Query { x: Int } type Subscription { messages(chatId: ID!): String! }',
      resolvers: {
        Subscription: {
          messages: {
            subscribe: async function* (_: unknown, args: { chatId: string }) {
              parseInput(uuidSchema, args.chatId);
              yield { messages: 'hi' };
            },
          },
        },
      },
    });
    const yoga = createYoga({ schema: subscriptions, plugins: [useValidationErrors()], logging: false });
    const subscribe = async (chatId: string) => {
      const response = await yoga.fetch('http://yoga.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: `subscription { messages(chatId: "${chatId}") }` }),
      });
      const events = (await response.text()).split('\n').filter((line) => line.startsWith('data: {'));
      return events.map((line) => JSON.parse(line.slice('data: '.length)) as Record<string, unknown>);
    };
    const [refused] = await subscribe('nope');
    expect(refused?.errors).toHaveLength(1);
    expect((refused?.errors as { extensions: unknown }[] | undefined)?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      issues: [{ path: [], message: 'must be a UUID' }],
    });
    expect(await subscribe('0191f0c2-7a7b-7c3d-8e9f-0a1b2c3d4e5f')).toEqual([{ data: { messages: 'hi' } }]);
  });
});

describe('hardenedPlugins on a real yoga', () => {
  const deep = (levels: number) => `{ me { ${'friends { '.repeat(levels)}id${' }'.repeat(levels)} } }`;

  test('accepts ordinary operations', async () => {
    const run = server(hardenedPlugins());
    const { status, body } = await run('{ me { id name friends { name } } }');
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
  });

  const GRAPHQL_RESPONSE = { accept: 'application/graphql-response+json' };

  test('refuses operations deeper than maxDepth without executing them', async () => {
    const run = server(hardenedPlugins({ maxDepth: 4, maxCost: false }));
    expect((await run(deep(2))).body.errors).toBeUndefined();
    const { status, body } = await run(deep(6), undefined, GRAPHQL_RESPONSE);
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([
      {
        message: 'Syntax Error: Query depth limit of 4 exceeded, found 8.',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
    ]);
    // Plain application/json clients get 200 with the same errors (GraphQL over HTTP).
    expect((await run(deep(6))).status).toBe(200);
  });

  test('refuses too many aliases, tokens and directives, and costly operations', async () => {
    const run = server(
      hardenedPlugins({ maxAliases: 3, maxTokens: 200, maxDirectives: 3, maxCost: 20, maxDepth: false }),
    );
    const refusal = async (query: string) => {
      const { status, body } = await run(query, undefined, GRAPHQL_RESPONSE);
      expect(status, query).toBe(400);
      expect(body.data, query).toBeUndefined();
      return body.errors?.map((error) => [error.message, (error.extensions as { code: string }).code]);
    };
    const aliases = `{ ${Array.from({ length: 5 }, (_, i) => `a${i}: hello`).join(' ')} }`;
    expect(await refusal(aliases)).toEqual([
      ['Syntax Error: Aliases limit of 3 exceeded, found 5.', 'GRAPHQL_VALIDATION_FAILED'],
    ]);
    const tokens = `{ ${'hello '.repeat(250)}}`;
    expect(await refusal(tokens)).toEqual([['Syntax Error: Token limit of 200 exceeded.', 'GRAPHQL_PARSE_FAILED']]);
    const directives = `{ hello ${'@include(if: true) '.repeat(5)}}`;
    expect((await refusal(directives))?.[0]).toEqual([
      'Syntax Error: Directives limit of 3 exceeded, found 5.',
      'GRAPHQL_VALIDATION_FAILED',
    ]);
    expect((await refusal(deep(4)))?.[0]?.[0]).toMatch(/^Syntax Error: Query Cost limit of 20 exceeded, found \d/);
  });

  test('hides field suggestions', async () => {
    const open = server([]);
    expect((await open('{ helo }')).body.errors?.[0]?.message).toMatch(/Did you mean/);
    const run = server(hardenedPlugins());
    const { body } = await run('{ helo }');
    expect(body.errors?.[0]?.message).toBe('Cannot query field "helo" on type "Query". [Suggestion hidden]');
  });

  test('bad limits throw TypeError when building the plugins', () => {
    expect(() => hardenedPlugins({ maxDepth: 0 })).toThrow(TypeError);
    expect(() => hardenedPlugins({ maxCost: 1.5 })).toThrow(TypeError);
    expect(() => hardenedYogaOptions({ maxRequestBodySize: -1 })).toThrow(TypeError);
  });
});

describe('hardenedYogaOptions', () => {
  test('limits the request body size (413), with masked errors and no batching', async () => {
    const hardened = hardenedYogaOptions({ maxRequestBodySize: 1_000 });
    // yoga's own limit is off: useRequestBodyLimit (in the plugins) applies it.
    expect(hardened).toMatchObject({ maxRequestBodySize: false, maskedErrors: true, batching: false });
    const run = server([...hardened.plugins, useValidationErrors()], {
      maxRequestBodySize: hardened.maxRequestBodySize,
      batching: hardened.batching,
      maskedErrors: hardened.maskedErrors,
    });
    const big = await run(SEND, { input: { chatId: 'x', content: 'y'.repeat(2_000) } });
    expect(big.status).toBe(413);
    const small = await run(SEND, { input: { chatId: 'x', content: 'y' } });
    expect(small.status).toBe(400);
    expect((small.body.errors?.[0]?.extensions as { code?: string } | undefined)?.code).toBe('BAD_USER_INPUT');
  });
});

describe('useStorableInput on a real yoga', () => {
  const NUL = 'must not contain the NUL character (U+0000)';
  const SURROGATE = 'must not contain an unpaired UTF-16 surrogate (not valid Unicode)';
  // What PostgreSQL answers for such text: the resolver fails, and the client would only see
  // "Unexpected error.".
  const storable = (value: unknown): boolean =>
    typeof value === 'string'
      ? !value.includes('\u0000') && new TextDecoder().decode(new TextEncoder().encode(value)) === value
      : value !== null && typeof value === 'object'
        ? Object.values(value).every(storable)
        : true;
  const stored: string[] = [];
  const store = (value: unknown): string => {
    if (!storable(value)) throw new Error('invalid byte sequence for encoding "UTF8": 0x00');
    stored.push(JSON.stringify(value));
    return 'saved';
  };
  const notes = createSchema({
    typeDefs: /* GraphQL */ `
      input MetaInput { note: String, tags: [String!] }
      input NoteInput { title: String!, meta: MetaInput }
      type Query { ping: String }
      type Mutation { saveNote(input: NoteInput!): String!, rename(title: String!): String! }
      type Subscription { notes(filter: String!): String! }
    `,
    resolvers: {
      Mutation: {
        saveNote: (_: unknown, args: { input: unknown }) => store(args.input),
        rename: (_: unknown, args: { title: string }) => store(args.title),
      },
      Subscription: {
        notes: {
          subscribe: async function* (_: unknown, args: { filter: string }) {
            store(args.filter);
            yield { notes: 'n1' };
          },
        },
      },
    },
  });
  const run = (plugins: Plugin[]) => {
    const yoga = createYoga({ schema: notes, plugins, logging: false });
    return async (query: string, variables?: Record<string, unknown>) => {
      const response = await yoga.fetch('http://yoga.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        // JSON.stringify writes a lone surrogate as the escape \ud800: the server parses it back.
        body: JSON.stringify({ query, variables }),
      });
      return {
        status: response.status,
        body: (await response.json()) as {
          data?: unknown;
          errors?: { message: string; locations?: unknown; extensions?: Record<string, unknown> }[];
        },
      };
    };
  };
  const SAVE = 'mutation Save($input: NoteInput!) { saveNote(input: $input) }';

  test('without it, a NUL reaches the database and the client sees "Unexpected error."', async () => {
    const plain = run([]);
    const { body } = await plain(SAVE, { input: { title: 'ok', meta: { note: 'a\u0000b' } } });
    expect(body.errors?.[0]?.message).toBe('Unexpected error.');
  });

  test('refuses a NUL in a variable nested two levels deep, with the path, before the resolver runs', async () => {
    const guarded = run([useStorableInput()]);
    stored.length = 0;
    const { status, body } = await guarded(SAVE, { input: { title: 'ok', meta: { note: 'a\u0000b' } } });
    expect(status).toBe(400);
    expect(body).toEqual({
      errors: [
        {
          message: `invalid input: input.meta.note: ${NUL}`,
          locations: [{ line: 1, column: 15 }],
          extensions: { code: 'BAD_USER_INPUT', issues: [{ path: ['input', 'meta', 'note'], message: NUL }] },
        },
      ],
    });
    expect(stored).toEqual([]);
  });

  test('names every bad string: list items by index, lone surrogates too', async () => {
    const guarded = run([useStorableInput()]);
    const { status, body } = await guarded(SAVE, {
      input: { title: '\ud800', meta: { note: 'fine', tags: ['ok', 'x\u0000', 'y\udc00'] } },
    });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      issues: [
        { path: ['input', 'title'], message: SURROGATE },
        { path: ['input', 'meta', 'tags', 1], message: NUL },
        { path: ['input', 'meta', 'tags', 2], message: SURROGATE },
      ],
    });
  });

  test("refuses a NUL in an inline argument, with the field path and the literal's location", async () => {
    const guarded = run([useStorableInput()]);
    stored.length = 0;
    const { status, body } = await guarded(
      'mutation {\n  saveNote(input: { title: "ok", meta: { tags: ["fine", "a\\u0000b"] } })\n  renamed: rename(title: "\\u0000")\n}',
    );
    expect(status).toBe(400);
    expect(body.errors).toEqual([
      {
        message: `invalid input: saveNote.input.meta.tags.1: ${NUL} (and 1 more)`,
        locations: [
          { line: 2, column: 57 },
          { line: 3, column: 26 },
        ],
        extensions: {
          code: 'BAD_USER_INPUT',
          issues: [
            { path: ['saveNote', 'input', 'meta', 'tags', 1], message: NUL },
            { path: ['renamed', 'title'], message: NUL },
          ],
        },
      },
    ]);
    expect(stored).toEqual([]);
  });

  test('checks variable defaults, fragments and subscriptions (which do not start)', async () => {
    const guarded = run([useStorableInput()]);
    const defaults = await guarded('mutation ($t: String! = "\\u0000") { rename(title: $t) }');
    expect(defaults.body.errors?.[0]?.extensions?.issues).toEqual([{ path: ['t'], message: NUL }]);
    const fragment = await guarded('mutation { ...F } fragment F on Mutation { r: rename(title: "\\u0000") }');
    expect(fragment.body.errors?.[0]?.extensions?.issues).toEqual([{ path: ['r', 'title'], message: NUL }]);
    stored.length = 0;
    const subscription = await guarded('subscription ($f: String!) { notes(filter: $f) }', { f: '\udfff' });
    expect(subscription.body.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      issues: [{ path: ['f'], message: SURROGATE }],
    });
    expect(stored).toEqual([]);
  });

  test('valid text passes untouched: emoji, "<3", accents, tabs and line breaks', async () => {
    const guarded = run([useStorableInput()]);
    stored.length = 0;
    const title = 'I <3 this 👩🏽‍💻 🏴󠁧󠁢󠁳󠁣󠁴󠁿 café\tand\nmore';
    const { status, body } = await guarded(SAVE, { input: { title, meta: { tags: ['👍🏽', '<3'] } } });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { saveNote: 'saved' } });
    expect(JSON.parse(stored[0] as string)).toEqual({ title, meta: { tags: ['👍🏽', '<3'] } });
    expect((await guarded('mutation { rename(title: "I \\u2764\\ufe0f <3 \\ud83d\\udc4d") }')).body).toEqual({
      data: { rename: 'saved' },
    });
  });

  test('is part of hardenedYogaOptions (storableInput: false leaves it out)', async () => {
    const hardened = run(hardenedYogaOptions().plugins);
    const refused = await hardened(SAVE, { input: { title: 'a\u0000' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const without = run(hardenedYogaOptions({ storableInput: false }).plugins);
    expect((await without(SAVE, { input: { title: 'a\u0000' } })).body.errors?.[0]?.message).toBe('Unexpected error.');
  });
});

describe('findUnstorableInput', () => {
  test('checks object keys, and walks variables nested deeper than the call stack', () => {
    const document = parse('query ($data: JSON) { ping(data: $data) }');
    expect(findUnstorableInput(document, { data: { 'bad\u0000key': 1 } })?.issues).toEqual([
      { path: ['data'], message: 'keys must not contain the NUL character (U+0000)' },
    ]);
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const found = findUnstorableInput(document, { data: deep });
    expect(found?.issues[0]?.path).toHaveLength(200_001);
    expect(findUnstorableInput(document, { data: { fine: ['👍', '<3'] } })).toBeUndefined();
  });

  test('reports at most 20 issues', () => {
    const document = parse('query ($data: JSON) { ping(data: $data) }');
    const found = findUnstorableInput(document, { data: Array.from({ length: 1_000 }, () => '\u0000') });
    expect(found?.issues).toHaveLength(20);
  });
});

describe('useRequestBodyLimit over real HTTP', () => {
  const LIMIT = 1_000;
  let url = '';
  let close = async () => {};
  const parsed: number[] = [];
  beforeAll(async () => {
    const yoga = createYoga({
      schema,
      logging: false,
      maxRequestBodySize: false,
      plugins: [
        useRequestBodyLimit(LIMIT),
        { onParams: () => void parsed.push(1) } satisfies Plugin,
        useValidationErrors(),
      ],
    });
    const httpServer = createServer(yoga);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/graphql`;
    close = () => new Promise((resolve) => httpServer.close(() => resolve()));
  });
  afterAll(() => close());

  const body = (size: number) => {
    const text = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
    return text.replace('"pad":""', `"pad":"${'x'.repeat(size - text.length)}"`);
  };
  /** Sends `text` with a Content-Length (fetch's default for a string) or chunked (a stream). */
  const post = (text: string, framing: 'length' | 'chunked', headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body:
        framing === 'length'
          ? text
          : new ReadableStream({
              start(controller) {
                const bytes = new TextEncoder().encode(text);
                for (let at = 0; at < bytes.length; at += 100) controller.enqueue(bytes.subarray(at, at + 100));
                controller.close();
              },
            }),
      ...(framing === 'chunked' ? { duplex: 'half' } : {}),
    } as RequestInit);
  const answer = async (response: Response) => ({
    status: response.status,
    code: ((await response.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code,
  });

  test('a declared Content-Length over the limit is refused before the body is parsed', async () => {
    const before = parsed.length;
    expect(await answer(await post(body(LIMIT + 1), 'length'))).toEqual({
      status: 413,
      code: 'REQUEST_ENTITY_TOO_LARGE',
    });
    expect(parsed.length).toBe(before);
    expect((await post(body(LIMIT), 'length')).status).toBe(200);
  });

  test('a chunked body (no Content-Length) is counted while it streams', async () => {
    expect(await answer(await post(body(LIMIT + 1), 'chunked'))).toEqual({
      status: 413,
      code: 'REQUEST_ENTITY_TOO_LARGE',
    });
    expect((await post(body(LIMIT), 'chunked')).status).toBe(200);
  });

  test('a malformed Content-Length is refused, never skipped (request-smuggling shapes)', async () => {
    // Node's HTTP parser refuses these before any plugin runs; other runtimes may pass them on.
    const yoga = createYoga({
      schema,
      logging: false,
      maxRequestBodySize: false,
      plugins: [useRequestBodyLimit(LIMIT)],
    });
    for (const length of ['12, 12', '-1', '1e3']) {
      const response = await yoga.fetch('http://yoga.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': length },
        body: body(100),
      });
      expect(await answer(response)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    }
  });

  test('bad limits are a TypeError at construction', () => {
    expect(() => useRequestBodyLimit(0)).toThrow(TypeError);
    expect(() => useRequestBodyLimit(1.5)).toThrow(TypeError);
  });
});
