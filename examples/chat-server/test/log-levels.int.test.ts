import { createTestDatabase } from '@switchboard/infra';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { codeOf, gql, registerUser, TEST_PASSWORD } from './client.ts';
import { type Instances, startInstances } from './instances.ts';
import { capturingLogger, LEVEL, operationLines, requestIdOf, severity } from './log-lines.ts';

const { log, lines } = capturingLogger();
let instances: Instances;
let url: string;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_log_levels');
  instances = await startInstances({ primary: db.primary, log });
  url = instances.urls[0] as string;
});

afterAll(async () => {
  await instances?.close();
});

test('the chat server logs client mistakes at info with their code, one line per operation, none at error', async () => {
  const user = await registerUser(url, 'levels');
  lines.length = 0;
  const mistakes = [
    // GraphQL validation
    await gql(url, '{ noSuchField }'),
    // an unknown enum value in a variable
    await gql(
      url,
      'mutation($c: ID!, $u: ID!, $r: ParticipantRole) { addParticipant(chatId: $c, userId: $u, role: $r) { role } }',
      { c: '00000000-0000-4000-8000-000000000000', u: user.id, r: 'KING' },
      user.token,
    ),
    // variables of the wrong type
    await gql(
      url,
      'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { chatId: { not: 'an id' }, content: 5 } },
      user.token,
    ),
    // input our schemas refuse
    await gql(url, 'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', {
      input: { username: 'x', email: 'not an email', password: 'short' },
    }),
  ];
  expect(mistakes.map(codeOf)).toEqual([
    'GRAPHQL_VALIDATION_FAILED',
    'BAD_USER_INPUT',
    'BAD_USER_INPUT',
    'BAD_USER_INPUT',
  ]);
  expect(lines.filter((line) => severity(line) >= LEVEL.error)).toEqual([]);
  // One line per operation (the wrong-type request's two errors are counted on its one line).
  const logged = operationLines(lines);
  expect(logged.map((line) => [line['log.level'], line['graphql.errors.codes'], line['event.outcome']])).toEqual([
    ['info', ['GRAPHQL_VALIDATION_FAILED'], 'failure'],
    ['info', ['BAD_USER_INPUT'], 'failure'],
    ['info', ['BAD_USER_INPUT'], 'failure'],
    ['info', ['BAD_USER_INPUT'], 'failure'],
  ]);
  expect(logged[2]?.['graphql.errors.count']).toBe(2);
  // Each line is its request's: the id the client was answered with, the user once authenticated.
  expect(logged.map(requestIdOf)).toEqual(mistakes.map((answer) => answer.headers.get('x-request-id')));
  expect(logged.map((line) => line['user.id'])).toEqual([undefined, user.id, user.id, undefined]);
  // No line carries another line's fields.
  for (const line of logged) {
    expect(line).not.toHaveProperty('error');
    expect(line).not.toHaveProperty('password');
  }
  expect(JSON.stringify(lines)).not.toContain(user.token);
});

test("a signed-in user's operation carries user.id; a success is one info line with its name and duration", async () => {
  const user = await registerUser(url, 'levels-ok');
  lines.length = 0;
  const answer = await gql(url, 'query Me { me { id } }', {}, user.token);
  expect(answer.errors).toBeUndefined();
  const [line, ...others] = operationLines(lines);
  expect(others).toEqual([]);
  expect(line).toMatchObject({
    'log.level': 'info',
    message: 'GraphQL operation',
    'graphql.operation.type': 'query',
    'graphql.operation.name': 'Me',
    'event.outcome': 'success',
    'user.id': user.id,
    'service.name': 'chat-server',
  });
  expect(line?.['event.duration']).toBeGreaterThan(0);
  expect(requestIdOf(line)).toBe(answer.headers.get('x-request-id'));
});

test('register and login lines say who signed in (user.id), though the request came without a token', async () => {
  lines.length = 0;
  const user = await registerUser(url, 'levels-in');
  const [registered] = operationLines(lines);
  expect(registered?.['user.id']).toBe(user.id);
  lines.length = 0;
  const username = (await gql<{ me: { username: string } }>(url, '{ me { username } }', {}, user.token)).data?.me
    .username as string;
  lines.length = 0;
  const login = await gql<{ login: { user: { id: string } } }>(
    url,
    'mutation Login($input: LoginInput!) { login(input: $input) { user { id } } }',
    { input: { username, password: TEST_PASSWORD } },
  );
  expect(login.data?.login.user.id).toBe(user.id);
  const [loggedIn, ...others] = operationLines(lines);
  expect(others).toEqual([]);
  expect(loggedIn).toMatchObject({ 'graphql.operation.name': 'Login', 'user.id': user.id, 'event.outcome': 'success' });
  // A failed login names nobody.
  lines.length = 0;
  await gql(url, 'mutation Login($input: LoginInput!) { login(input: $input) { user { id } } }', {
    input: { username, password: `${TEST_PASSWORD}-wrong` },
  });
  expect(operationLines(lines)[0]?.['user.id']).toBeUndefined();
});
