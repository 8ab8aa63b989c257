// The harness's side of the client workers (fanout, mixed): spreads the simulated users over
// worker processes, opens their subscriptions and proves each one live, runs the requests,
// then collects every receipt and matches it with the acknowledged sends.
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuWindow, type ProcessGroups } from '../cpu.ts';
import { GraphQLClient } from '../graphql-client.ts';
import type { MeasureOptions } from '../measure.ts';
import type { OpenLoopRun, RequestRecord } from '../runner.ts';
import type { SeededChat } from '../seed.ts';
import {
  type ActPlan,
  type ActResult,
  type ClientReply,
  type ClientRequest,
  type ClientStatus,
  type ClientUser,
  type Deliveries,
  type Plan,
  PROBE_PREFIX,
  type SentMessage,
} from './client-protocol.ts';
import { DeliveryLedger } from './deliveries.ts';
import { OPERATION_NAMES, type OperationName } from './operations.ts';
import { SEND_MESSAGE } from './send.ts';
import type { ScenarioContext } from './types.ts';

const WORKER = fileURLToPath(new URL('./client-worker.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** At most this many subscribers per worker process (its CPU, and the open-file limit). */
const SUBSCRIBERS_PER_WORKER = 2500;
/** Subscriptions each worker opens at once. */
const OPEN_CONCURRENCY = 50;
/** Probe rounds before a subscription that never hears one fails the run. */
const PROBE_ROUNDS = 6;
const PROBE_WAIT_MS = 3000;
/** After the probes, the subscribers sit idle this long before the servers' memory is read. */
const IDLE_MS = 2000;
/** Deliveries may drain this long without progress after the last answer before the rest count as lost. */
const DRAIN_QUIET_MS = 10_000;
const DRAIN_MAX_MS = 120_000;

const clock = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The soft limit on open files of this process (its children inherit it). */
export function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((row) => row.startsWith('Max open files'));
  const soft = Number(line?.split(/\s{2,}/)[1]);
  return Number.isFinite(soft) ? soft : 1024;
}

/** Resident memory of processes (not their children), KiB, from /proc/<pid>/status. */
export function residentKiB(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    total += Number(match?.[1] ?? 0);
  }
  return total;
}

class ClientWorker {
  readonly child: ChildProcess;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor() {
    this.child = fork(WORKER, [], { execArgv: ['--import', TSX_LOADER], serialization: 'advanced', stdio: 'inherit' });
    this.child.on('message', (reply: ClientReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.value);
      else waiter?.reject(new Error(`client worker: ${reply.error}`));
    });
    this.child.once('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`client worker exited (${code})`));
      this.pending.clear();
    });
  }

  call<T>(request: DistributiveOmit<ClientRequest, 'id'>): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ ...request, id } as ClientRequest);
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ClientsOptions {
  context: ScenarioContext;
  /** Whether a user (index into `World.users`) holds a subscription (to its first chat). */
  subscribes: (user: number) => boolean;
  /** At least this many worker processes (more when the subscribers need them). */
  workers: number;
  connections: number;
  log: (line: string) => void;
  seed?: number;
}

export interface Establishment {
  subscribers: number;
  transports: { sse: number; ws: number };
  workers: number;
  /** From the first subscription opened until every one heard a probe. */
  subscribeMs: number;
  probeRounds: number;
  memoryPerSubscriberKiB: number | null;
}

/** One run of the clients, ready for `summarize` and the delivery count. */
export interface ClientRun {
  run: OpenLoopRun;
  /** The operation of each of `run.requests`. */
  operations: OperationName[];
  /** Acknowledged sends due in the window. */
  sent: SentMessage[];
  ledger: DeliveryLedger;
  /** Subscriptions that ended or failed so far, with why (none should). */
  ended: ClientStatus['ended'];
}

export interface Clients {
  /** Each subscriber (user index) and the chat id it subscribed to. */
  subscriptions: ReadonlyMap<number, string>;
  /** Opens every subscription, proves each live with probe messages, reads the servers' memory. */
  establish(): Promise<Establishment>;
  run(plan: Plan, rate: number, options: MeasureOptions, processes: () => ProcessGroups): Promise<ClientRun>;
  close(): Promise<void>;
  /** Ends the workers at once (Ctrl-C): whatever waits on them rejects. */
  kill(): void;
}

/** Starts the worker processes and hands each its users; nothing connects yet. */
export async function startClients(options: ClientsOptions): Promise<Clients> {
  const { system, world, addresses } = options.context;
  const urls = system.instances.map((instance) => instance.url);
  const chatsOf = new Map<number, SeededChat[]>();
  for (const chat of world.chats) {
    for (const member of chat.members) chatsOf.set(member, [...(chatsOf.get(member) ?? []), chat]);
  }
  const acting = [...chatsOf.keys()].sort((a, b) => a - b);
  const subscribers = acting.filter(options.subscribes);
  const perWorker = Math.max(100, Math.min(SUBSCRIBERS_PER_WORKER, openFileLimit() - 1024));
  const count = Math.max(options.workers, Math.ceil(subscribers.length / perWorker), 1);
  const subscriptions = new Map<number, string>();
  const chatById = new Map(world.chats.map((chat) => [chat.id, chat]));
  const transports = { sse: 0, ws: 0 };
  const shares: ClientUser[][] = Array.from({ length: count }, () => []);
  for (const user of acting) {
    const instance = user % urls.length;
    const subscribes = options.subscribes(user);
    // Every instance gets both transports, every worker both transports and every instance.
    const transport = subscribes ? (Math.floor(user / urls.length) % 2 === 0 ? 'sse' : 'ws') : undefined;
    // Its subscription (the first chat) spread over its chats, so that subscribers spread over all chats.
    const own = (chatsOf.get(user) ?? []).map((chat) => chat.id);
    const chatIds = [...own.slice(user % own.length), ...own.slice(0, user % own.length)];
    if (transport) {
      transports[transport]++;
      subscriptions.set(user, chatIds[0] as string);
    }
    (shares[Math.floor(user / (2 * urls.length)) % count] as ClientUser[]).push({
      user,
      token: world.users[user]?.token as string,
      refreshToken: world.users[user]?.refreshToken,
      address: addresses[user % addresses.length] as string,
      instance,
      chatIds,
      transport,
    });
  }
  const workers = shares.map(() => new ClientWorker());
  const all = <T>(request: DistributiveOmit<ClientRequest, 'id'>) =>
    Promise.all(workers.map((worker) => worker.call<T>(request)));
  const close = async () => {
    await Promise.all(workers.map((worker) => worker.call({ method: 'close' }).catch(() => {})));
    for (const worker of workers) if (worker.child.connected) worker.child.disconnect();
  };
  try {
    await Promise.all(
      workers.map((worker, index) =>
        worker.call({
          method: 'setup',
          setup: {
            index,
            workers: count,
            urls,
            users: shares[index] as ClientUser[],
            connections: options.connections,
            openConcurrency: OPEN_CONCURRENCY,
            seed: options.seed ?? 1,
          },
        }),
      ),
    );
  } catch (error) {
    await close();
    throw error;
  }

  const collectInto = async (ledger: DeliveryLedger | undefined) => {
    for (const deliveries of await all<Deliveries>({ method: 'collect' })) ledger?.add(deliveries);
  };

  /** Sends one probe message into each chat, as its first member; the subscribers know probes by content. */
  const probe = async (chatIds: readonly string[], round: number) => {
    const clients = urls.map((url) => new GraphQLClient(url, { localAddress: addresses[0] as string, connections: 8 }));
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(16, chatIds.length) }, async () => {
          while (next < chatIds.length) {
            const chatId = chatIds[next++] as string;
            const sender = chatById.get(chatId)?.members[0] as number;
            await (clients[sender % clients.length] as GraphQLClient).data(
              SEND_MESSAGE,
              { input: { chatId, content: `${PROBE_PREFIX}${round}` } },
              world.users[sender]?.token,
            );
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  };

  const statuses = async () => {
    const list = await all<ClientStatus>({ method: 'status' });
    return {
      open: list.reduce((sum, status) => sum + status.open, 0),
      probed: list.reduce((sum, status) => sum + status.probed, 0),
      ended: list.flatMap((status) => status.ended),
      waiting: list.flatMap((status) => status.waiting),
    };
  };
  const failIfEnded = (ended: ClientStatus['ended']) => {
    if (ended.length === 0) return;
    const first = ended[0] as ClientStatus['ended'][number];
    throw new Error(`${ended.length} subscriptions failed or ended; the first (user ${first.user}): ${first.reason}`);
  };

  return {
    subscriptions,
    async establish() {
      const servers = system.serverPids();
      const before = servers.length ? residentKiB(servers) : undefined;
      const started = Date.now();
      options.log(
        `opening ${subscriptions.size} subscriptions (${transports.sse} graphql-sse, ${transports.ws} graphql-ws) from ${count} worker process${count === 1 ? '' : 'es'}...`,
      );
      const opened = (await all<ClientStatus>({ method: 'subscribe' })).flatMap((status) => status.ended);
      failIfEnded(opened);
      let rounds = 0;
      let state = await statuses();
      while (state.probed < subscriptions.size) {
        if (rounds === PROBE_ROUNDS) {
          throw new Error(`${subscriptions.size - state.probed} subscriptions never received a probe message`);
        }
        rounds++;
        const chats = [...new Set(state.waiting)];
        options.log(`probe round ${rounds}: a message into ${chats.length} chats...`);
        await probe(chats, rounds);
        for (const deadline = Date.now() + PROBE_WAIT_MS; Date.now() < deadline; await sleep(200)) {
          state = await statuses();
          failIfEnded(state.ended);
          if (state.probed >= subscriptions.size) break;
        }
      }
      const subscribeMs = Date.now() - started;
      options.log(`${subscriptions.size} subscriptions live after ${(subscribeMs / 1000).toFixed(1)} s`);
      await sleep(IDLE_MS);
      await collectInto(undefined);
      const memory =
        before === undefined || subscriptions.size === 0
          ? null
          : Math.round(((residentKiB(servers) - before) / subscriptions.size) * 10) / 10;
      return {
        subscribers: subscriptions.size,
        transports,
        workers: count,
        subscribeMs,
        probeRounds: rounds,
        memoryPerSubscriberKiB: memory,
      };
    },

    run: runOnce,
    kill() {
      for (const worker of workers) worker.child.kill('SIGKILL');
    },
    close,
  };

  async function runOnce(
    plan: Plan,
    rate: number,
    measure: MeasureOptions,
    processes: () => ProcessGroups,
  ): Promise<ClientRun> {
    await collectInto(undefined);
    const totalMs = measure.warmupMs + measure.durationMs;
    const startAt = clock() + 300;
    const windowStart = startAt + measure.warmupMs;
    const generator = workers.flatMap((worker) => (worker.child.pid ? [worker.child.pid] : []));
    const window = cpuWindow(processes, generator, windowStart);
    const sharesTotal = shares.reduce((sum, share) => sum + share.length, 0);
    const results = await Promise.all(
      workers.map((worker, index) =>
        worker.call<ActResult>({
          method: 'act',
          plan: {
            plan,
            startAt,
            totalMs,
            rate: (rate * (shares[index] as ClientUser[]).length) / sharesTotal,
            phase: index / count,
            timeoutMs: 30_000,
            run: Math.floor(startAt),
          } satisfies ActPlan,
        }),
      ),
    );
    const cpu = await window.end();

    const inWindow = (due: number) => due >= measure.warmupMs - 1e-6 && due < totalMs - 1e-6;
    const records: { request: RequestRecord; operation: OperationName }[] = [];
    let lastAnswer = measure.durationMs;
    for (const result of results) {
      for (let k = 0; k < result.due.length; k++) {
        const due = result.due[k] as number;
        if (!inWindow(due)) continue;
        const at = due - measure.warmupMs;
        const latencyMs = result.latency[k] as number;
        const outcome = result.outcome[k] as number;
        lastAnswer = Math.max(lastAnswer, at + latencyMs);
        records.push({
          request: {
            at,
            latencyMs,
            lateMs: result.late[k] as number,
            error: outcome === 0 ? undefined : result.errorKinds[outcome - 1],
            ack: undefined,
          },
          operation: OPERATION_NAMES[result.operation[k] as number] as OperationName,
        });
      }
      for (const tokens of result.tokens) {
        const user = world.users[tokens.user];
        if (!user) continue;
        user.token = tokens.token;
        if (tokens.refreshToken !== undefined) user.refreshToken = tokens.refreshToken;
      }
    }
    records.sort((a, b) => a.request.at - b.request.at);
    const sent = results.flatMap((result) => result.sent).filter((message) => inWindow(message.due));

    // Deliveries drain: until every expected one is in, or none came for a while.
    const ledger = new DeliveryLedger(sent, subscriptions);
    const drainStart = Date.now();
    let progressAt = drainStart;
    let delivered = -1;
    for (;;) {
      await collectInto(ledger);
      if (ledger.complete) break;
      if (ledger.delivered > delivered) {
        delivered = ledger.delivered;
        progressAt = Date.now();
      }
      if (Date.now() - progressAt > DRAIN_QUIET_MS || Date.now() - drainStart > DRAIN_MAX_MS) break;
      await sleep(200);
    }
    const state = await statuses();
    return {
      run: {
        rate,
        durationMs: measure.durationMs,
        requests: records.map((record) => record.request),
        elapsedMs: lastAnswer,
        workers: count,
        ...cpu,
      },
      operations: records.map((record) => record.operation),
      sent,
      ledger,
      ended: state.ended,
    };
  }
}
