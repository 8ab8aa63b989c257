import { createTestDatabase } from '@switchboard/infra';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { codeOf, gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';
import { capturingLogger, LEVEL } from './log-lines.ts';

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

test('the chat server logs client mistakes at info with their code, and none of them at error', async () => {
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
  expect(lines.filter((line) => line.level >= LEVEL.error)).toEqual([]);
  const logged = lines.filter((line) => line.msg === 'GraphQL error');
  expect(logged.every((line) => line.level === LEVEL.info)).toBe(true);
  expect(logged.map((line) => line.code)).toEqual(
    expect.arrayContaining(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']),
  );
  // One line per error the clients were sent (the wrong-type request got two).
  expect(logged).toHaveLength(5);
  // No request line carries another line's fields.
  for (const line of lines.filter((entry) => entry.msg === 'request')) {
    expect(line).not.toHaveProperty('err');
    expect(line).not.toHaveProperty('code');
  }
});
