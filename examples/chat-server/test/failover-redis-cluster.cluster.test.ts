import { startTestTopology, type Topology } from '@switchboard/infra';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chatFollower, expectNothingLost } from './chat-follower.ts';
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
    const bobReads = chatFollower(b, bob.token, chatId);
    const { received } = bobReads;
    const live = bobReads.follow();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const acknowledged: number[] = [];
    const send = async (i: number) => {
      const sent = await gql<{ sendMessage: { seq: number } }>(
        a,
        SEND,
        { input: { chatId, content: `c${i}` } },
        alice.token,
      );
      if (sent.data?.sendMessage) acknowledged.push(sent.data.sendMessage.seq);
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

    await expectNothingLost(pool, chatId, acknowledged, bobReads);
  });
});
