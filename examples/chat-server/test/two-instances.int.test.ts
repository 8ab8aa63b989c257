import { createTestDatabase } from '@switchboard/infra';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { codeOf, gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

/**
 * Two instances of the server over one primary with two streaming replicas and Redis behind
 * Sentinel (the shared test topology): what a user does on one is seen on the other.
 */
const PER_CHAT_LIMIT = 4;
let instances: Instances;
let urls: string[];

beforeAll(async () => {
  const infra = inject('infra');
  const db = await createTestDatabase(infra, 'chat_cluster');
  if (!infra.redis) throw new Error('the shared topology has no Redis');
  instances = await startInstances({
    primary: db.primary,
    replicas: db.replicas,
    redis: infra.redis,
    count: 2,
    limits: { messagesPerChatPerHour: PER_CHAT_LIMIT },
  });
  urls = instances.urls;
});

afterAll(async () => {
  await instances?.close();
});

const register = (url: string) => registerUser(url, 'two');

const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { seq content } }';

describe('two instances over replicas and Redis Sentinel', () => {
  test('a message sent through A reaches a subscriber on B; the sender reads it back at once on B', async () => {
    const [a, b] = urls as [string, string];
    const [alice, bob] = [await register(a), await register(a)];
    const created = await gql<{ createChat: { id: string } }>(
      a,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Across', participantIds: [bob.id] } },
      alice.token,
    );
    const chatId = created.data?.createChat.id as string;

    const client = createClient({ url: b, headers: { authorization: `Bearer ${bob.token}` }, retryAttempts: 0 });
    const stream = client.iterate<{ messageAdded: { content: string } }>({
      query: 'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { content } }',
      variables: { chatId },
    });
    const first = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = await gql(a, SEND, { input: { chatId, content: 'over the wire' } }, alice.token);
    expect(sent.errors).toBeUndefined();
    expect((await first).value?.data?.messageAdded.content).toBe('over the wire');
    await stream.return?.();
    client.dispose();

    // Read-your-writes across instances: the chat alice just created and the message she just
    // sent are there on B, read from a replica that has them (or from the primary).
    const read = await gql<{ messages: { edges: { node: { content: string } }[] } }>(
      b,
      'query($chatId: ID!) { messages(chatId: $chatId, last: 5) { edges { node { content } } } }',
      { chatId },
      alice.token,
    );
    expect(read.data?.messages.edges.map((edge) => edge.node.content)).toEqual(['over the wire']);
  });

  test('/ready reports primary, Redis and replicas; /metrics speaks Prometheus', async () => {
    const base = (urls[0] as string).replace(/\/graphql$/, '');
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as {
      ready: boolean;
      checks: Record<string, { ok: boolean; detail?: unknown }>;
    };
    expect(report.ready).toBe(true);
    expect(report.checks.postgres?.ok).toBe(true);
    expect(report.checks.redis?.ok).toBe(true);
    expect(report.checks.replicas?.detail).toHaveLength(2);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'chat_http_requests_total',
      'chat_http_request_duration_seconds_bucket',
      'chat_rate_limit_refusals_total',
      'chat_cache_hit_ratio',
      'chat_outbox_pending',
      'chat_outbox_oldest_pending_seconds',
      'chat_replica_lag_seconds{replica="replica-1"}',
    ]) {
      expect(metrics).toContain(name);
    }
  });

  test('rate limits are shared: the per-chat limit counts messages sent through both instances', async () => {
    const [a, b] = urls as [string, string];
    const alice = await register(a);
    const created = await gql<{ createChat: { id: string } }>(
      a,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Limited', participantIds: [] } },
      alice.token,
    );
    const chatId = created.data?.createChat.id as string;
    for (let i = 0; i < PER_CHAT_LIMIT; i++) {
      const through = i % 2 === 0 ? a : b;
      expect((await gql(through, SEND, { input: { chatId, content: `m${i}` } }, alice.token)).errors).toBeUndefined();
    }
    expect(codeOf(await gql(b, SEND, { input: { chatId, content: 'too many' } }, alice.token))).toBe('RATE_LIMITED');
    expect(codeOf(await gql(a, SEND, { input: { chatId, content: 'too many' } }, alice.token))).toBe('RATE_LIMITED');
    const base = a.replace(/\/graphql$/, '');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(Number(/^chat_rate_limit_refusals_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  test('the participant list cached on B is dropped when A adds someone (cache bus)', async () => {
    const [a, b] = urls as [string, string];
    const [owner, newcomer] = [await register(a), await register(a)];
    const created = await gql<{ createChat: { id: string } }>(
      a,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Growing', participantIds: [] } },
      owner.token,
    );
    const chatId = created.data?.createChat.id as string;
    const PARTICIPANTS = 'query($id: ID!) { chat(id: $id) { participants { user { id } } } }';
    const idsOn = async (url: string) =>
      (
        await gql<{ chat: { participants: { user: { id: string } }[] } }>(
          url,
          PARTICIPANTS,
          { id: chatId },
          owner.token,
        )
      ).data?.chat.participants.map((participant) => participant.user.id);
    expect(await idsOn(b)).toEqual([owner.id]);
    await gql(
      a,
      'mutation($chatId: ID!, $userId: ID!) { addParticipant(chatId: $chatId, userId: $userId) { role } }',
      { chatId, userId: newcomer.id },
      owner.token,
    );
    let seen: string[] | undefined;
    for (let i = 0; i < 50 && seen?.length !== 2; i++) {
      seen = await idsOn(b);
      if (seen?.length !== 2) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seen).toEqual([owner.id, newcomer.id]);
  });

  test('a participant removed through A loses access on B at once (rbac bus)', async () => {
    const [a, b] = urls as [string, string];
    const [owner, member] = [await register(a), await register(a)];
    const created = await gql<{ createChat: { id: string } }>(
      a,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Revoked', participantIds: [member.id] } },
      owner.token,
    );
    const chatId = created.data?.createChat.id as string;
    // B caches the member's grants.
    expect((await gql(b, SEND, { input: { chatId, content: 'hello' } }, member.token)).errors).toBeUndefined();
    await gql(
      a,
      'mutation($chatId: ID!, $userId: ID!) { removeParticipant(chatId: $chatId, userId: $userId) }',
      { chatId, userId: member.id },
      owner.token,
    );
    let refused: unknown;
    for (let i = 0; i < 50 && refused !== 'FORBIDDEN'; i++) {
      refused = codeOf(await gql(b, SEND, { input: { chatId, content: 'still here?' } }, member.token));
      if (refused !== 'FORBIDDEN') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refused).toBe('FORBIDDEN');
  });
});
