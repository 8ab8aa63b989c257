import pg from 'pg';
import { ensureBuilt } from '../build-check.ts';
import { GraphQLClient } from '../graphql-client.ts';
import { seedDatabase, type World } from '../seed.ts';
import { type SystemUnderTest, startSystem } from '../system.ts';
import { DRILLS, type FaultRun, type Observed } from './faults.ts';
import { Endpoints } from './http.ts';
import type { DrillOptions } from './options.ts';
import { buildResult, type DrillResult, type StoredMessage } from './report.ts';
import { type Subscribers, startSubscribers } from './subscribers.ts';
import { startTraffic } from './traffic.ts';

/** Messages seeded per chat before the load: the subscribers start after the last one's cursor. */
const HISTORY = 1;
/** How long the subscribers get, after the load, to receive the last messages. */
const DRAIN_MS = 15_000;
/** An HTTP attempt unanswered this long is a timeout (and a hang, for primary-pause). */
const ATTEMPT_TIMEOUT_MS = 10_000;

export interface DrillHooks {
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Everything recorded, before it is summarized (to look closer at a run). */
  onObserved?: (observed: Observed, fault: FaultRun) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Runs one drill end to end: starts the cluster (tools/infra topology + one `node` process per
 * instance), seeds users and chats, opens the subscriptions, runs the load, injects the fault at
 * `faultAtS`, lets the subscribers drain, then checks everything against PostgreSQL.
 */
export async function runDrill(
  options: DrillOptions,
  hooks: DrillHooks = {},
): Promise<{ result: DrillResult; dir: string }> {
  const log = hooks.log ?? (() => {});
  const { signal } = hooks;
  const drill = DRILLS[options.drill];
  ensureBuilt({ build: options.build });
  const aborted = () => {
    if (signal?.aborted) throw new Error('stopped');
  };

  const system = await startSystem({
    mode: 'cluster',
    instances: 2,
    serverEnv: options.serverEnv,
    keepDir: options.keep,
    log,
    ...(signal ? { signal } : {}),
  });
  let world: World | undefined;
  let subscribers: Subscribers | undefined;
  let endpoints: Endpoints | undefined;
  try {
    const { topology, databaseUrl, signingKeys } = system;
    if (!topology || !databaseUrl || !signingKeys) throw new Error('drills need the cluster mode');
    const users = options.chats * options.members;
    world = await seedDatabase({
      databaseUrl,
      signingKeys,
      sizes: { users, chats: options.chats, members: options.members, history: HISTORY },
    });
    aborted();
    const { chats } = world;
    const seeded = world;
    const initialCursors = await lastCursors(system, seeded);
    aborted();

    let origin = performance.now();
    const now = () => performance.now() - origin;
    const dead = new Set<number>();
    const urls = system.instances.map((instance) => instance.url);
    log(`opening ${options.subscribers} subscriptions (graphql-sse and graphql-ws)...`);
    subscribers = startSubscribers({
      urls,
      users: seeded.users,
      chats,
      count: options.subscribers,
      initialCursors,
      now,
      isDead: (instance) => dead.has(instance),
    });
    await subscribers.ready(30_000);
    aborted();
    // The load's clock starts now: what happened before (the streams opening) is negative.
    const offset = now();
    origin += offset;
    for (const record of subscribers.records) {
      for (const connection of record.connections) {
        connection.startedAt -= offset;
        if (connection.connectedAt !== undefined) connection.connectedAt -= offset;
      }
      for (const delivery of record.received) delivery.at -= offset;
    }

    endpoints = new Endpoints(urls, { connections: 512, timeoutMs: ATTEMPT_TIMEOUT_MS });
    log(
      `${drill.name}: ${options.rate} sends/s and ${options.readRate} reads/s for ${options.durationS} s, fault at ${options.faultAtS} s`,
    );
    const traffic = startTraffic({
      endpoints,
      users: seeded.users,
      chats,
      rate: options.rate,
      readRate: options.readRate,
      durationMs: options.durationS * 1000,
      runId: seeded.runId,
      now,
      ...(signal ? { signal } : {}),
    });
    const faultRun: Promise<FaultRun> = sleep(options.faultAtS * 1000 - now()).then(() =>
      drill.inject({
        system,
        topology,
        now,
        markDead: (instance) => dead.add(instance),
        log: (line) => log(`[${(now() / 1000).toFixed(1)} s] ${line}`),
        loadEnd: traffic.done,
      }),
    );
    const [fault] = await Promise.all([faultRun, traffic.done]);
    aborted();

    log('load done; waiting for the subscribers to receive the last messages...');
    const lastSeq = await chatLastSeqs(
      databaseUrl,
      chats.map((chat) => chat.id),
    );
    const deadline = Date.now() + DRAIN_MS;
    const behind = () =>
      (subscribers as Subscribers).records.filter((record) => {
        const open = (subscribers as Subscribers).isOpen(record);
        const top = Math.max(HISTORY, ...record.received.map((delivery) => delivery.seq));
        return open && top < (lastSeq[record.chat] ?? 0);
      });
    while (behind().length > 0 && Date.now() < deadline) await sleep(100);
    await subscribers.stop();
    log('checking every message against PostgreSQL...');

    // On the load's clock (PostgreSQL's `created_at` is this machine's wall clock too).
    const stored = await storedMessages(
      databaseUrl,
      chats.map((chat) => chat.id),
      performance.timeOrigin + origin,
    );
    const crashed = system.instances
      .filter((instance, index) => instance.process?.hasExited() && !dead.has(index))
      .map((instance) => instance.name);
    const observed = {
      sends: traffic.sends,
      reads: traffic.reads,
      attempts: traffic.attempts,
      subscribers: subscribers.records,
      instances: system.instances.length,
    };
    hooks.onObserved?.(observed, fault);
    const recovery = drill.recovery(observed, fault);
    const result = buildResult({ drill, options, observed, fault, recovery, stored, crashed, users });
    return { result, dir: system.dir };
  } finally {
    await subscribers?.stop();
    await endpoints?.close();
    await world?.close();
    log('stopping the servers, then PostgreSQL and Redis...');
    await system.stop();
  }
}

/** Per chat, the cursor of its last message (the seeded history), read as a member would. */
async function lastCursors(system: SystemUnderTest, world: World): Promise<string[]> {
  const client = new GraphQLClient(system.instances[0]?.url as string, { connections: 8 });
  try {
    return await Promise.all(
      world.chats.map(async (chat) => {
        const data = await client.data<{ messages: { edges: { cursor: string }[] } }>(
          'query DrillStart($chatId: ID!) { messages(chatId: $chatId, last: 1) { edges { cursor } } }',
          { chatId: chat.id },
          world.users[chat.members[0] as number]?.token,
        );
        const cursor = data.messages.edges[0]?.cursor;
        if (!cursor) throw new Error(`chat ${chat.id} has no seeded message`);
        return cursor;
      }),
    );
  } finally {
    await client.close();
  }
}

async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function chatLastSeqs(databaseUrl: string, chatIds: string[]): Promise<number[]> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string; last_seq: string }>(
      'SELECT id, last_seq FROM chats WHERE id = ANY($1::uuid[])',
      [chatIds],
    );
    const bySeq = new Map(rows.map((row) => [row.id, Number(row.last_seq)]));
    return chatIds.map((id) => bySeq.get(id) ?? 0);
  });
}

/** Every message of the run (after the seeded history) as PostgreSQL has it. */
function storedMessages(databaseUrl: string, chatIds: string[], loadStartEpochMs: number): Promise<StoredMessage[]> {
  const index = new Map(chatIds.map((id, i) => [id, i]));
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{
      chat_id: string;
      seq: string;
      id: string;
      client_id: string | null;
      created_ms: string;
    }>(
      `SELECT chat_id, seq, id, client_id, extract(epoch FROM created_at) * 1000 AS created_ms
         FROM messages WHERE chat_id = ANY($1::uuid[]) AND seq > $2`,
      [chatIds, HISTORY],
    );
    return rows.map((row) => ({
      chat: index.get(row.chat_id) as number,
      seq: Number(row.seq),
      id: row.id,
      clientId: row.client_id,
      createdAt: Number(row.created_ms) - loadStartEpochMs,
    }));
  });
}
