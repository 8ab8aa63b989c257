import { clusterSubscribers, createTestDatabase } from '@switchboard/infra';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { gql, registerUser, TEST_PASSWORD } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

/**
 * Two instances of the server over one primary with two streaming replicas and the shared Redis
 * Cluster (3 masters) of the test topology: `REDIS_CLUSTER_NODES` in a test. The only chat-server
 * file on the cluster: the server's keys and channels have no per-test prefix.
 */
let instances: Instances;
let urls: string[];

beforeAll(async () => {
  const infra = inject('infra');
  const db = await createTestDatabase(infra, 'chat_redis_cluster');
  if (!infra.redisCluster) throw new Error('the shared topology has no Redis Cluster');
  instances = await startInstances({
    primary: db.primary,
    replicas: db.replicas,
    redisCluster: infra.redisCluster.nodes,
    count: 2,
  });
  urls = instances.urls;
});

afterAll(async () => {
  await instances?.close();
});

const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { seq content } }';

describe('two instances over a Redis Cluster', () => {
  test('a message sent through A reaches a subscriber on B; the sender reads it back at once on B', async () => {
    const [a, b] = urls as [string, string];
    const [alice, bob] = [await registerUser(a, 'rc'), await registerUser(a, 'rc')];
    const created = await gql<{ createChat: { id: string } }>(
      a,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Across the cluster', participantIds: [bob.id] } },
      alice.token,
    );
    expect(created.errors).toBeUndefined();
    const chatId = created.data?.createChat.id as string;

    const client = createClient({ url: b, headers: { authorization: `Bearer ${bob.token}` }, retryAttempts: 0 });
    const stream = client.iterate<{ messageAdded: { content: string } }>({
      query: 'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { content } }',
      variables: { chatId },
    });
    const first = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // On a cluster the chat's channel is subscribed with sharded pub/sub (its shard only).
    const nodes = inject('infra').redisCluster?.nodes ?? [];
    expect(await clusterSubscribers(nodes, `message:added:${chatId}`, true)).toBeGreaterThan(0);
    expect(await clusterSubscribers(nodes, `message:added:${chatId}`, false)).toBe(0);
    const sent = await gql(a, SEND, { input: { chatId, content: 'over the cluster' } }, alice.token);
    expect(sent.errors).toBeUndefined();
    expect((await first).value?.data?.messageAdded.content).toBe('over the cluster');
    await stream.return?.();
    client.dispose();

    // Read-your-writes across instances: the causal token stored on the cluster by A is read by B.
    const read = await gql<{ messages: { edges: { node: { content: string } }[] } }>(
      b,
      'query($chatId: ID!) { messages(chatId: $chatId, last: 5) { edges { node { content } } } }',
      { chatId },
      alice.token,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data?.messages.edges.map((edge) => edge.node.content)).toEqual(['over the cluster']);
  });

  test('login, with its four limits in one all-or-nothing script (tagged to one slot), works and still limits', async () => {
    const [a] = urls as [string];
    const username = `rclogin${Date.now().toString(36)}`;
    const registered = await gql(a, 'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', {
      input: { username, email: `${username}@example.com`, password: TEST_PASSWORD },
    });
    expect(registered.errors).toBeUndefined();
    const login = (password: string) =>
      gql<{ login: { accessToken: string } }>(
        a,
        'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        {
          input: { username, password },
        },
      );
    const good = await login(TEST_PASSWORD);
    expect(good.errors).toBeUndefined();
    expect(good.data?.login.accessToken).toBeTruthy();
    const wrong = await login('not-the-password-at-all');
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('/ready reports Redis up', async () => {
    const base = (urls[0] as string).replace(/\/graphql$/, '');
    const ready = await fetch(`${base}/ready`);
    const report = (await ready.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(report.checks.redis?.ok).toBe(true);
    expect(ready.status).toBe(200);
  });
});
