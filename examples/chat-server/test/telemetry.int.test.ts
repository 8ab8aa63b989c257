import { createTestDatabase } from '@switchboard/infra';
import { installTestMetrics, installTestTracing, type TestMetrics, type TestTracing } from '@switchboard/infra/tracing';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import { createServerLogger } from '../src/app.ts';
import { gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

let tracing: TestTracing;
// Metrics through the real SDK, read on demand.
let metrics: TestMetrics;
let traced: Instances;
let untraced: Instances;
let cluster: Instances;
// The cluster's log lines, from the server's logger with telemetry (trace.id on each).
const clusterLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  tracing = installTestTracing();
  metrics = installTestMetrics();
  // Two databases: the traced instance's relay must never publish what the untraced one enqueued.
  const tracedDb = await createTestDatabase(inject('infra'), 'chat_telemetry_on');
  const untracedDb = await createTestDatabase(inject('infra'), 'chat_telemetry_off');
  traced = await startInstances({ primary: tracedDb.primary, telemetry: true });
  untraced = await startInstances({ primary: untracedDb.primary });
  const infra = inject('infra');
  if (!infra.redis) throw new Error('the shared topology has no Redis');
  const clusterDb = await createTestDatabase(infra, 'chat_telemetry_cluster');
  const log = createServerLogger(
    { environment: 'test', level: 'info', telemetry: true },
    { write: (line: string) => void clusterLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  cluster = await startInstances({ primary: clusterDb.primary, redis: infra.redis, count: 2, telemetry: true, log });
});
beforeEach(() => tracing.reset());
afterAll(async () => {
  await traced?.close();
  await untraced?.close();
  await cluster?.close();
  tracing.uninstall();
  metrics.uninstall();
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
    // The request: the operation's span, parent of the enqueue (and of auth's and rbac's work).
    const operation = tracing.span('mutation');
    expect(operation.attributes['graphql.operation.type']).toBe('mutation');
    expect(enqueue.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
    await expect.poll(() => names().has('send chat.message.added'), { timeout: 10_000 }).toBe(true);
    const publish = tracing.span('send chat.message.added');
    expect(publish.spanContext().traceId).not.toBe(enqueue.spanContext().traceId);
    expect(publish.links.map((link) => link.context.spanId)).toEqual([enqueue.spanContext().spanId]);

    // An edit (and a delete) travels the same way: its event enqueued in the request's trace, the
    // relay's publish linked back to it.
    tracing.reset();
    const edited = await gql(
      url,
      'mutation($id: ID!, $content: String!) { editMessage(id: $id, content: $content) { id } }',
      { id: (sent.data as { sendMessage: { id: string } }).sendMessage.id, content: 'traced, edited' },
      ada.token,
    );
    expect(edited.errors).toBeUndefined();
    const editEnqueue = tracing.span('create chat.message.updated');
    expect(editEnqueue.parentSpanContext?.spanId).toBe(tracing.span('mutation').spanContext().spanId);
    await expect.poll(() => names().has('send chat.message.updated'), { timeout: 10_000 }).toBe(true);
    expect(tracing.span('send chat.message.updated').links.map((link) => link.context.spanId)).toEqual([
      editEnqueue.spanContext().spanId,
    ]);
  });

  test('one message across two instances: its enqueue on A, the relay publish linked to it, the delivery on B a child of the publish', async () => {
    const [urlA, urlB] = cluster.urls as [string, string];
    const ada = await registerUser(urlA, 'ada');
    const bob = await registerUser(urlA, 'bob');
    const chat = await gql<{ createChat: { id: string } }>(
      urlA,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Across', participantIds: [bob.id] } },
      ada.token,
    );
    const chatId = chat.data?.createChat.id as string;
    const send = async (content: string) =>
      (
        await gql<{ sendMessage: { cursor: string } }>(
          urlA,
          'mutation($input: SendMessageInput!) { sendMessage(input: $input) { cursor } }',
          { input: { chatId, content } },
          ada.token,
        )
      ).data?.sendMessage.cursor;
    // Bob listens on instance B, from after a first message: whatever follows reaches him, replayed
    // from the database or live; once one has, the feed is live.
    const after = await send('before');
    const client = createClient({ url: urlB, headers: { authorization: `Bearer ${bob.token}` }, retryAttempts: 0 });
    const feed = client.iterate<{ messageAdded: { content: string } }>({
      query: 'subscription($chatId: ID!, $after: String) { messageAdded(chatId: $chatId, after: $after) { content } }',
      variables: { chatId, after },
    });
    const warmUp = feed.next();
    await send('warm up');
    expect((await warmUp).value?.data?.messageAdded.content).toBe('warm up');
    await expect.poll(() => tracing.spans().some((span) => span.name === 'send chat.message.added')).toBe(true);
    tracing.reset();
    const first = feed.next();
    // The request, with an id of our own to find its log lines.
    const response = await fetch(urlA, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${ada.token}`,
        'x-request-id': 'trace-e2e-1',
      },
      body: JSON.stringify({
        query: 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
        variables: { input: { chatId, content: 'across instances' } },
      }),
    });
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect((await first).value?.data?.messageAdded.content).toBe('across instances');
    await feed.return?.();
    client.dispose();

    // Spans of the earlier messages may still end after the reset: pick this message's by their
    // link to its enqueue (the one create span since the reset).
    const enqueue = tracing.span('create chat.message.added');
    const linkedTo = (name: string) =>
      tracing
        .spans()
        .find(
          (span) =>
            span.name === name && span.links.some((link) => link.context.spanId === enqueue.spanContext().spanId),
        );
    await expect.poll(() => linkedTo('process chat.message.added') !== undefined).toBe(true);
    const publish = linkedTo('send chat.message.added');
    const delivery = linkedTo('process chat.message.added');
    if (!publish || !delivery) throw new Error('no publish or delivery span linked to the enqueue');
    // T1, the request's trace: its operation span, auth's token check, the rate limit check (Redis)
    // and the enqueue; and every log line of the request carries T1's trace id.
    const t1 = enqueue.spanContext().traceId;
    const inT1 = tracing
      .spans()
      .filter((span) => span.spanContext().traceId === t1)
      .map((span) => span.name);
    expect(inT1).toEqual(
      expect.arrayContaining([
        'mutation',
        'switchboard.auth.verify_access_token',
        'switchboard.ratelimit.consume',
        'create chat.message.added',
      ]),
    );
    // rbac's decisions are counted (a metric, not spans: they are hot in-memory checks).
    expect(
      (await metrics.collect()).some(
        (series) =>
          series.metric === 'switchboard.rbac.decisions' &&
          series.attributes['switchboard.rbac.permission'] === 'message:send' &&
          series.attributes['switchboard.rbac.decision'] === 'allowed',
      ),
    ).toBe(true);
    const requestLines = clusterLines.filter((line) => line['http.request.id'] === 'trace-e2e-1');
    expect(requestLines.length).toBeGreaterThan(0);
    for (const line of requestLines) expect(line['trace.id']).toBe(t1);
    // T2: the publish's own trace, linked to the request's enqueue (T1).
    expect(publish.spanContext().traceId).not.toBe(enqueue.spanContext().traceId);
    expect(publish.links.map((link) => link.context.spanId)).toEqual([enqueue.spanContext().spanId]);
    // The delivery on B: a child of the publish in T2, linked to the enqueue too.
    expect(delivery.spanContext().traceId).toBe(publish.spanContext().traceId);
    expect(delivery.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(delivery.links.map((link) => link.context.spanId)).toEqual([enqueue.spanContext().spanId]);
  });

  test('without it (the default), nothing is traced', async () => {
    await registerUser(untraced.urls[0] as string, 'cy');
    // (The traced instances' relays may still end a span of an earlier test's message here.)
    const fromRegister = tracing
      .spans()
      .filter((span) => span.name === 'mutation' || span.name.startsWith('switchboard.auth.'));
    expect(fromRegister).toEqual([]);
  });
});
