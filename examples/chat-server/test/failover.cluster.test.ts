import { startTestTopology, type Topology } from '@switchboard/infra';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chatFollower, expectNothingLost } from './chat-follower.ts';
import { gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

/**
 * Two instances over a topology of their own (nodes get killed): a PostgreSQL primary, a plain
 * replica and one that applies WAL 2 s late, Redis master + 2 replicas + 3 Sentinels.
 */
let topology: Topology;
let instances: Instances;
let pool: pg.Pool;
let a: string;
let b: string;

beforeAll(async () => {
  topology = await startTestTopology({
    postgres: { replicas: [{}, { applyDelayMs: 2000 }] },
    redis: { replicas: 2, sentinels: 3 },
  });
  const postgres = topology.info.postgres;
  const redis = topology.info.redis;
  if (!postgres || !redis) throw new Error('incomplete topology');
  instances = await startInstances({ primary: postgres.primary, replicas: postgres.replicas, redis, count: 2 });
  pool = instances.pool;
  [a, b] = instances.urls as [string, string];
});

afterAll(async () => {
  await instances?.close();
  await topology?.stop();
});

const register = (url: string) => registerUser(url, 'fo');

async function createChat(url: string, token: string, participantIds: string[] = []): Promise<string> {
  const response = await gql<{ createChat: { id: string } }>(
    url,
    'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
    { input: { title: 'Failover', participantIds } },
    token,
  );
  expect(response.errors).toBeUndefined();
  return response.data?.createChat.id as string;
}

const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }';
const LAST = `query($chatId: ID!) { messages(chatId: $chatId, last: 1) { edges { node { seq content } } } }`;

describe('the chat server as a cluster, when things fail', () => {
  test('read-your-writes across instances, through a replica 2 s behind', async () => {
    const [alice, bob] = [await register(a), await register(a)];
    const chatId = await createChat(a, alice.token, [bob.id]);
    // Only the delayed replica left: any read it serves is 2 s behind the primary.
    const fast = topology.postgres?.replicas[0];
    if (!fast) throw new Error('no replica');
    await fast.kill();
    try {
      let bobSawItAtOnce = 0;
      for (let i = 1; i <= 10; i++) {
        const sent = await gql(a, SEND, { input: { chatId, content: `m${i}` } }, alice.token);
        expect(sent.errors).toBeUndefined();
        // At once, on the other instance: the sender sees her message every time...
        const read = await gql<{ messages: { edges: { node: { seq: number; content: string } }[] } }>(
          b,
          LAST,
          { chatId },
          alice.token,
        );
        expect(read.data?.messages.edges[0]?.node).toEqual({ seq: i, content: `m${i}` });
        // ...while a reader with no write of his own is served by the lagging replica.
        const other = await gql<{ messages: { edges: { node: { seq: number } }[] } }>(b, LAST, { chatId }, bob.token);
        if (other.data?.messages.edges[0]?.node.seq === i) bobSawItAtOnce++;
      }
      expect(bobSawItAtOnce).toBeLessThan(10);
    } finally {
      await fast.restart();
    }
  });

  test('a replica killed mid-run: reads keep working', async () => {
    const alice = await register(a);
    const chatId = await createChat(a, alice.token);
    await gql(a, SEND, { input: { chatId, content: 'before' } }, alice.token);
    const victim = topology.postgres?.replicas[0];
    if (!victim) throw new Error('no replica');
    const failures: unknown[] = [];
    const reads = (async () => {
      for (let i = 0; i < 60; i++) {
        const read = await gql(b, LAST, { chatId }, alice.token);
        if (read.errors) failures.push(read.errors);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await victim.kill();
    await reads;
    expect(failures).toEqual([]);
    await victim.restart();
  });

  test('the Redis master dies: within 10 s sending and receiving work again, and nothing acknowledged is lost', async () => {
    const [alice, bob] = [await register(a), await register(a)];
    const chatId = await createChat(a, alice.token, [bob.id]);
    const bobReads = chatFollower(b, bob.token, chatId);
    const { received } = bobReads;
    const live = bobReads.follow();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const acknowledged: number[] = [];
    const send = async (i: number) => {
      const sent = await gql<{ sendMessage: { seq: number } }>(
        a,
        SEND,
        { input: { chatId, content: `n${i}` } },
        alice.token,
      );
      if (sent.data?.sendMessage) acknowledged.push(sent.data.sendMessage.seq);
      return sent;
    };
    for (let i = 0; i < 5; i++) expect((await send(i)).errors).toBeUndefined();

    const group = topology.redis;
    if (!group) throw new Error('no redis');
    const master = await group.currentMaster();
    const killedAt = Date.now();
    await master.kill();
    // Keep sending; done once a message sent after the kill has reached the live subscriber
    // (pub/sub works again) or after 15 s. Sends that fail are not acknowledged: allowed.
    let workingAgainAfterMs: number | undefined;
    let failedSends = 0;
    for (let i = 5; workingAgainAfterMs === undefined && Date.now() - killedAt < 15_000; i++) {
      const sent = await send(i);
      if (sent.errors) failedSends++;
      const seq = sent.data?.sendMessage.seq;
      if (seq !== undefined) {
        for (let wait = 0; wait < 5 && !received.has(seq); wait++)
          await new Promise((resolve) => setTimeout(resolve, 20));
        if (received.has(seq)) workingAgainAfterMs = Date.now() - killedAt;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(workingAgainAfterMs, `${failedSends} sends failed`).toBeDefined();
    expect(workingAgainAfterMs).toBeLessThan(10_000);
    await group.waitForFailover(master);
    await live.stop();

    await expectNothingLost(pool, chatId, acknowledged, bobReads);
  });
});
