import { startTestTopology, type Topology } from '@switchboard/infra';
import { createClient } from 'graphql-sse';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

/**
 * Two instances over a topology of their own (a node gets killed): a PostgreSQL primary with a
 * replica, and a Redis Cluster of 3 masters with a replica each (`REDIS_CLUSTER_NODES`).
 */
let topology: Topology;
let instances: Instances;
let pool: pg.Pool;
let a: string;
let b: string;

beforeAll(async () => {
  topology = await startTestTopology({
    postgres: { replicas: 1 },
    redis: false,
    redisCluster: { masters: 3, replicasPerMaster: 1 },
  });
  const postgres = topology.info.postgres;
  const cluster = topology.info.redisCluster;
  if (!postgres || !cluster) throw new Error('incomplete topology');
  instances = await startInstances({
    primary: postgres.primary,
    replicas: postgres.replicas,
    redisCluster: cluster.nodes,
    count: 2,
  });
  pool = instances.pool;
  [a, b] = instances.urls as [string, string];
});

afterAll(async () => {
  await instances?.close();
  await topology?.stop();
});

const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }';
const ADDED =
  'subscription($chatId: ID!, $after: String) { messageAdded(chatId: $chatId, after: $after) { seq cursor } }';

describe('the chat server on a Redis Cluster, when a master dies', () => {
  test('sending and receiving work again within 5 s of the promotion, without a restart, and nothing acknowledged is lost', async () => {
    const [alice, bob] = [await registerUser(a, 'rcf'), await registerUser(a, 'rcf')];
    const created = await gql<{ createChat: { id: string } }>(
      a,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Cluster failover', participantIds: [bob.id] } },
      alice.token,
    );
    const chatId = created.data?.createChat.id as string;
    // When Bob's stream delivered each seq, and its cursor (to catch up from).
    const received = new Map<number, { at: number; cursor: string }>();
    const subscribe = (after?: string) => {
      const client = createClient({ url: b, headers: { authorization: `Bearer ${bob.token}` }, retryAttempts: 0 });
      const stream = client.iterate<{ messageAdded: { seq: number; cursor: string } }>({
        query: ADDED,
        variables: { chatId, ...(after ? { after } : {}) },
      });
      const done = (async () => {
        try {
          for await (const event of stream) {
            const message = event.data?.messageAdded;
            if (message && !received.has(message.seq))
              received.set(message.seq, { at: Date.now(), cursor: message.cursor });
          }
        } catch {
          // The stream may break during the failover: the catch-up below covers it.
        }
      })();
      return {
        stop: async () => {
          await stream.return?.();
          client.dispose();
          await done;
        },
      };
    };
    const live = subscribe();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const acknowledged: { seq: number; at: number }[] = [];
    const send = async (i: number) => {
      const sent = await gql<{ sendMessage: { seq: number } }>(
        a,
        SEND,
        { input: { chatId, content: `c${i}` } },
        alice.token,
      );
      if (sent.data?.sendMessage) acknowledged.push({ seq: sent.data.sendMessage.seq, at: Date.now() });
      return sent;
    };
    for (let i = 0; i < 5; i++) expect((await send(i)).errors).toBeUndefined();

    const cluster = topology.redisCluster;
    if (!cluster) throw new Error('no redis cluster');
    const [master] = await cluster.masters();
    if (!master) throw new Error('no master');
    const killedAt = Date.now();
    await master.kill();
    let promotedAt = 0;
    const failover = cluster.waitForFailover(master).then(() => {
      promotedAt = Date.now();
    });
    // Keep sending (sends that fail are not acknowledged: allowed) until a message sent after
    // the promotion has reached Bob, or 25 s.
    let failedSends = 0;
    let workingAgainAt = 0;
    for (let i = 5; workingAgainAt === 0 && Date.now() - killedAt < 25_000; i++) {
      const sentAt = Date.now();
      const sent = await send(i);
      if (sent.errors) failedSends++;
      const seq = sent.data?.sendMessage.seq;
      if (seq !== undefined && promotedAt !== 0 && sentAt >= promotedAt) {
        for (let wait = 0; wait < 50 && !received.has(seq); wait++)
          await new Promise((resolve) => setTimeout(resolve, 20));
        const delivered = received.get(seq);
        if (delivered) workingAgainAt = delivered.at;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await failover;
    expect(
      workingAgainAt,
      `${failedSends} sends failed; promoted ${promotedAt - killedAt} ms after the kill`,
    ).toBeGreaterThan(0);
    expect(workingAgainAt - promotedAt).toBeLessThan(5_000);
    process.stderr.write(
      `[redis cluster failover] promoted ${promotedAt - killedAt} ms after the kill; a message sent and received ${workingAgainAt - promotedAt} ms after the promotion; ${failedSends} sends refused meanwhile\n`,
    );
    await live.stop();

    // Everything acknowledged is in Postgres...
    const { rows } = await pool.query('SELECT seq FROM messages WHERE chat_id = $1', [chatId]);
    const stored = new Set(rows.map((row) => Number(row.seq)));
    expect(acknowledged.filter(({ seq }) => !stored.has(seq))).toEqual([]);
    // ...and in the subscriber's stream once it catches up from the first message it had.
    const first = received.get(1);
    expect(first).toBeDefined();
    const catchUp = subscribe(first?.cursor);
    for (let i = 0; i < 100 && acknowledged.some(({ seq }) => !received.has(seq)); i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await catchUp.stop();
    expect(acknowledged.filter(({ seq }) => !received.has(seq)).map(({ seq }) => seq)).toEqual([]);
  });
});
