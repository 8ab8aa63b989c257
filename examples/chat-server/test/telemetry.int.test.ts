import { createTestDatabase } from '@switchboard/infra';
import { installTestTracing, type TestTracing } from '@switchboard/infra/tracing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import { gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

let tracing: TestTracing;
let traced: Instances;
let untraced: Instances;

beforeAll(async () => {
  tracing = installTestTracing();
  // Two databases: the traced instance's relay must never publish what the untraced one enqueued.
  const tracedDb = await createTestDatabase(inject('infra'), 'chat_telemetry_on');
  const untracedDb = await createTestDatabase(inject('infra'), 'chat_telemetry_off');
  traced = await startInstances({ primary: tracedDb.primary, telemetry: true });
  untraced = await startInstances({ primary: untracedDb.primary });
});
beforeEach(() => tracing.reset());
afterAll(async () => {
  await traced?.close();
  await untraced?.close();
  tracing.uninstall();
});

describe('the chat server with telemetry (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  test("every package's spans reach the SDK: auth's, its Postgres stores', and the outbox relay's", async () => {
    const url = traced.urls[0] as string;
    const ada = await registerUser(url, 'ada');
    const bob = await registerUser(url, 'bob');
    const chat = await gql<{ createChat: { id: string } }>(
      url,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Traced', participantIds: [bob.id] } },
      ada.token,
    );
    expect(chat.errors).toBeUndefined();
    const names = () => new Set(tracing.spans().map((span) => span.name));
    // register: the password hashed, the session stored by a statement of the Postgres store.
    expect(names()).toContain('switchboard.auth.hash_password');
    expect(names()).toContain('switchboard.auth.issue_tokens');
    const issue = tracing.span('switchboard.auth.issue_tokens');
    expect(tracing.spans().some((span) => span.parentSpanContext?.spanId === issue.spanContext().spanId)).toBe(true);
    // createChat enqueues a user event; the relay publishes it in a span of its own.
    await expect.poll(() => [...names()].some((name) => name.startsWith('send ')), { timeout: 10_000 }).toBe(true);

    // sendMessage: the one statement runs in the enqueue's span, whose traceparent the event
    // carries; the relay's publish starts its own trace and links back to it.
    tracing.reset();
    const sent = await gql(
      url,
      'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { chatId: chat.data?.createChat.id, content: 'traced hello' } },
      ada.token,
    );
    expect(sent.errors).toBeUndefined();
    const enqueue = tracing.span('create chat.message.added');
    await expect.poll(() => names().has('send chat.message.added'), { timeout: 10_000 }).toBe(true);
    const publish = tracing.span('send chat.message.added');
    expect(publish.spanContext().traceId).not.toBe(enqueue.spanContext().traceId);
    expect(publish.links.map((link) => link.context.spanId)).toEqual([enqueue.spanContext().spanId]);
  });

  test('without it (the default), nothing is traced', async () => {
    await registerUser(untraced.urls[0] as string, 'cy');
    expect(tracing.spans()).toEqual([]);
  });
});
