import { createTestDatabase } from '@switchboard/infra';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, test, vi } from 'vitest';
import WebSocket from 'ws';
import { gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';
import { capturingLogger, LEVEL, operationLines, requestIdOf, severity } from './log-lines.ts';

const { log, lines } = capturingLogger();
let instances: Instances;
let url: string;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_ws_errors');
  instances = await startInstances({ primary: db.primary, log });
  url = instances.urls[0] as string;
});

afterAll(async () => {
  await instances?.close();
});

// Whatever reaches stderr while a test runs: graphql-ws prints there (console.error) when an
// operation's failure escapes the server's hooks, and then closes the socket.
let stderr: string[];
beforeEach(() => {
  stderr = [];
  const keep = (...args: unknown[]) => {
    stderr.push(args.map(String).join(' '));
  };
  vi.spyOn(console, 'error').mockImplementation(keep);
  vi.spyOn(console, 'warn').mockImplementation(keep);
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stderr.push(String(chunk));
    return write(chunk, ...(rest as []));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

interface Watched {
  client: Client;
  closed: { code: number; reason: string }[];
}

function connect(authorization: string): Watched {
  const closed: Watched['closed'] = [];
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization },
    retryAttempts: 0,
    lazy: false,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closed.push({ code, reason });
      },
    },
  });
  return { client, closed };
}

type Outcome = {
  errors?: undefined | readonly { message: string; extensions?: Record<string, unknown> }[];
  results: unknown[];
};

/** Runs one operation to its end: its results, and the errors of an `error` message if one came. */
function run(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const results: unknown[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (result) => results.push(result),
        error: (errors) => resolve({ errors: errors as Outcome['errors'], results }),
        complete: () => resolve({ results }),
      },
    );
  });
}

const until = async (check: () => boolean, ms = 5_000) => {
  for (const started = Date.now(); !check() && Date.now() - started < ms; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Why @switchboard/auth refused a token: `extensions.reason` under `UNAUTHENTICATED` (or the code itself). */
const tokenRefusal = (error: { extensions?: Record<string, unknown> } | undefined) =>
  error?.extensions?.reason ?? error?.extensions?.code;

const MESSAGE_ADDED = 'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { content } }';

describe('graphql-ws: a failing operation fails alone', () => {
  test('syntax, validation and variable errors answer their own operation; the socket and its subscription live on', async () => {
    const owner = await registerUser(url, 'wsowner');
    const chat = await gql<{ createChat: { id: string } }>(
      url,
      'mutation { createChat(input: { title: "Errors", participantIds: [] }) { id } }',
      {},
      owner.token,
    );
    const chatId = chat.data?.createChat.id as string;
    const { client, closed } = connect(`Bearer ${owner.token}`);
    const received: string[] = [];
    let goodEnded = false;
    client.subscribe<{ messageAdded: { content: string } }>(
      { query: MESSAGE_ADDED, variables: { chatId } },
      {
        next: (result) => {
          if (result.data) received.push(result.data.messageAdded.content);
        },
        error: () => {
          goodEnded = true;
        },
        complete: () => {
          goodEnded = true;
        },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const send = (content: string) =>
      gql(
        url,
        'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
        { input: { chatId, content } },
        owner.token,
      );
    await send('first');
    await until(() => received.length === 1);
    expect(received).toEqual(['first']);
    lines.length = 0;

    const syntax = await run(client, 'subscription { messageAdded(chatId: "x" { content } }');
    expect(syntax.errors?.[0]?.message).toMatch(/^Syntax Error/);
    expect(syntax.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    // yoga's HTTP-only extension is not sent over the socket.
    expect(syntax.errors?.[0]?.extensions).not.toHaveProperty('http');

    const invalid = await run(client, 'subscription { noSuchField }');
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const badVariable = await run(client, MESSAGE_ADDED, { chatId: { not: 'an id' } });
    const variableErrors = badVariable.errors ?? (badVariable.results[0] as Outcome | undefined)?.errors;
    expect(variableErrors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // The socket stayed open, and the good subscription still receives.
    await send('second');
    await until(() => received.length === 2);
    expect(received).toEqual(['first', 'second']);
    expect(goodEnded).toBe(false);
    expect(closed).toEqual([]);

    // Client mistakes are logged below error, one line per operation with its code, each with a
    // request id of its own and the socket's connection id; nothing went to stderr.
    const failed = operationLines(lines).filter((line) => line['event.outcome'] === 'failure');
    expect(failed.map((line) => [line['log.level'], line['graphql.errors.codes']])).toEqual(
      expect.arrayContaining([
        ['info', ['GRAPHQL_PARSE_FAILED']],
        ['info', ['GRAPHQL_VALIDATION_FAILED']],
        ['info', ['BAD_USER_INPUT']],
      ]),
    );
    expect(lines.filter((line) => severity(line) >= LEVEL.error)).toEqual([]);
    const ids = failed.map(requestIdOf);
    expect(new Set(ids).size).toBe(failed.length);
    expect(failed.every((line) => typeof line.connectionId === 'string')).toBe(true);
    expect(new Set(failed.map((line) => line.connectionId)).size).toBe(1);
    // The socket's token was verified for the operation that reached execution: its line has the user.
    const refusedVariable = failed.find((line) => String(line['graphql.errors.codes']) === 'BAD_USER_INPUT');
    expect(refusedVariable?.['user.id']).toBe(owner.id);
    expect(JSON.stringify(lines)).not.toContain(owner.token);
    expect(stderr).toEqual([]);
    await client.dispose();
  });

  test('a bad token fails each operation with its code; the socket stays open and keeps answering', async () => {
    const { client, closed } = connect('Bearer not-a-token');
    lines.length = 0;
    const first = await run(client, 'subscription($chatId: ID!) { typing(chatId: $chatId) { chatId } }', {
      chatId: '00000000-0000-4000-8000-000000000000',
    });
    expect(tokenRefusal(first.errors?.[0])).toBe('INVALID_TOKEN');
    expect(first.errors?.[0]?.extensions).not.toHaveProperty('http');
    const second = await run(client, '{ health }');
    expect(tokenRefusal(second.errors?.[0])).toBe('INVALID_TOKEN');
    expect(closed).toEqual([]);
    expect(lines.filter((line) => severity(line) >= LEVEL.error)).toEqual([]);
    // (The previous test's subscription may end here too, with a success line.)
    const refused = operationLines(lines).filter((line) => line['event.outcome'] === 'failure');
    expect(refused).toHaveLength(2);
    for (const line of refused) {
      expect(line).toMatchObject({ 'log.level': 'info', 'event.outcome': 'failure' });
      expect(line['graphql.errors.codes']).toEqual([expect.stringMatching(/^(UNAUTHENTICATED|INVALID_TOKEN)$/)]);
      // The refused token is nowhere in the lines.
      expect(line).not.toHaveProperty('user.id');
    }
    expect(JSON.stringify(lines)).not.toContain('not-a-token');
    expect(stderr).toEqual([]);
    await client.dispose();
  });
});
