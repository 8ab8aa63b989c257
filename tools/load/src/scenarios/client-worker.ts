// A client worker process (fanout, mixed): holds its simulated users' live subscriptions
// (graphql-sse and graphql-ws, each from the user's own loopback source address) and sends
// their requests on a fixed schedule. Every receipt and every acknowledgement is timestamped
// with performance.timeOrigin + performance.now(), a clock all processes of this machine share,
// so the harness can match each delivery with the send it came from.
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { Agent, fetch, Pool } from 'undici';
import WebSocket from 'ws';
import { random } from '../random.ts';
import {
  type ActPlan,
  type ActResult,
  type ClientReply,
  type ClientRequest,
  type ClientStatus,
  type ClientUser,
  type ClientWorkerSetup,
  type Deliveries,
  MESSAGE_ADDED,
  PROBE_PREFIX,
  type SentMessage,
} from './client-protocol.ts';
import { DOCUMENTS, MIXED_CYCLE, OPERATION_NAMES, type OperationName, PAGE_SIZE } from './operations.ts';

const clock = () => performance.timeOrigin + performance.now();

interface Subscription {
  user: ClientUser;
  /** Resolves when the stream is up, rejects when it fails first. */
  opened: Promise<void>;
  up: boolean;
  probed: boolean;
  ended: string | undefined;
  close(): void;
}

/** Per user: where the mixed model is (its cycle step, current chat, the page it scrolled back to). */
interface UserState {
  step: number;
  chat: number;
  before: string | null;
}

let setup: ClientWorkerSetup | undefined;
const subscriptions: Subscription[] = [];
let received: Deliveries = { user: [], id: [], at: [] };
const agents = new Map<string, Agent>();
const sockets = new Map<string, unknown>();
const pools = new Map<string, Pool>();
let stopping = false;

/** graphql-sse's fetch, through an agent bound to the user's source address (no body timeout: a stream idles). */
function fetchFrom(address: string) {
  let agent = agents.get(address);
  if (!agent) {
    agent = new Agent({ localAddress: address, bodyTimeout: 0, headersTimeout: 60_000 });
    agents.set(address, agent);
  }
  const dispatcher = agent;
  return (input: string, init: Record<string, unknown>) => fetch(input, { ...init, dispatcher });
}

/** A WebSocket class whose connections leave from `address` (graphql-ws constructs it itself). */
function webSocketFrom(address: string): unknown {
  let bound = sockets.get(address);
  if (!bound) {
    bound = class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { localAddress: address });
      }
    };
    sockets.set(address, bound);
  }
  return bound;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (Array.isArray(error))
    return error.map((item) => (item as { message?: string }).message ?? String(item)).join('; ');
  const event = error as { code?: unknown; reason?: unknown };
  if (event && typeof event === 'object' && 'code' in event)
    return `closed ${String(event.code)} ${String(event.reason ?? '')}`.trim();
  return String(error);
}

/** Opens one user's subscription to its first chat; no client library retries (a retry could hide a loss). */
function subscribe(config: ClientWorkerSetup, user: ClientUser): Subscription {
  let markUp: () => void = () => {};
  let fail: (error: Error) => void = () => {};
  const subscription: Subscription = {
    user,
    opened: new Promise<void>((resolve, reject) => {
      markUp = resolve;
      fail = reject;
    }),
    up: false,
    probed: false,
    ended: undefined,
    close: () => {},
  };
  subscription.opened.catch(() => {});
  const up = () => {
    if (subscription.up) return;
    subscription.up = true;
    markUp();
  };
  const end = (reason: string) => {
    if (subscription.ended !== undefined || stopping) return;
    subscription.ended = reason;
    fail(new Error(reason));
  };
  const sink = {
    next: (result: { data?: unknown; errors?: readonly { message: string }[] }) => {
      if (result.errors?.length) {
        end(`error: ${result.errors.map((error) => error.message).join('; ')}`);
        return;
      }
      const message = (result.data as { messageAdded?: { id: string; content: string } } | null | undefined)
        ?.messageAdded;
      if (!message) return;
      const at = clock();
      received.user.push(user.user);
      received.id.push(message.id);
      received.at.push(at);
      if (message.content.startsWith(PROBE_PREFIX)) subscription.probed = true;
      up();
    },
    error: (error: unknown) => end(describe(error)),
    complete: () => end('completed by the server'),
  };
  const url = config.urls[user.instance] as string;
  const request = { query: MESSAGE_ADDED, variables: { chatId: user.chatIds[0] } };
  const authorization = `Bearer ${user.token}`;
  if (user.transport === 'sse') {
    const client = createSseClient({
      url,
      headers: { authorization },
      fetchFn: fetchFrom(user.address),
      retryAttempts: 0,
    });
    const unsubscribe = client.subscribe(request, sink, { connected: up });
    subscription.close = () => {
      unsubscribe();
      client.dispose();
    };
  } else {
    const client = createWsClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: webSocketFrom(user.address),
      connectionParams: { authorization },
      retryAttempts: 0,
      // graphql-ws says when the socket is acknowledged; the operation has no acknowledgement of
      // its own (the harness's probe messages tell when it is live).
      on: { connected: up },
    });
    const unsubscribe = client.subscribe(request, sink);
    subscription.close = () => {
      unsubscribe();
      void client.dispose();
    };
  }
  return subscription;
}

/** Opens every subscription, `openConcurrency` at a time; resolves once each is up or has failed. */
async function subscribeAll(config: ClientWorkerSetup): Promise<void> {
  const users = config.users.filter((user) => user.transport !== undefined);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(config.openConcurrency, users.length) }, async () => {
      while (next < users.length) {
        const subscription = subscribe(config, users[next++] as ClientUser);
        subscriptions.push(subscription);
        await subscription.opened.catch(() => {});
      }
    }),
  );
}

function status(): ClientStatus {
  const waiting = new Set<string>();
  let open = 0;
  let probed = 0;
  const ended: ClientStatus['ended'] = [];
  for (const subscription of subscriptions) {
    if (subscription.ended !== undefined) ended.push({ user: subscription.user.user, reason: subscription.ended });
    else if (subscription.up) open++;
    if (subscription.probed) probed++;
    else waiting.add(subscription.user.chatIds[0] as string);
  }
  return { open, probed, ended, waiting: [...waiting] };
}

function collect(): Deliveries {
  const out = received;
  received = { user: [], id: [], at: [] };
  return out;
}

/** `(CODE)` of the first GraphQL error of an answer. */
function errorCode(body: { errors?: { extensions?: { code?: unknown } }[] } | undefined): string {
  const code = body?.errors?.[0]?.extensions?.code;
  return code ? ` ${String(code)}` : '';
}

/**
 * Sends this worker's share of the run on its schedule: request k is due at (k + phase) / rate,
 * whatever the server does, and its latency runs from that due time (open loop).
 */
async function act(config: ClientWorkerSetup, plan: ActPlan, states: Map<number, UserState>): Promise<ActResult> {
  const perMs = plan.rate / 1000;
  const total = Math.max(0, Math.ceil(perMs * plan.totalMs - plan.phase - 1e-9));
  const dueOf = (k: number) => (k + plan.phase) / perMs;
  const due = new Float64Array(total);
  const latency = new Float64Array(total);
  const late = new Float64Array(total);
  const operation = new Uint8Array(total);
  const outcome = new Uint16Array(total);
  const errorKinds: string[] = [];
  const sent: SentMessage[] = [];
  const users = config.users;
  const pick = random(config.seed + plan.run * 104_729 + config.index * 7919);
  const fail = (k: number, kind: string) => {
    let index = errorKinds.indexOf(kind);
    if (index < 0) index = errorKinds.push(kind) - 1;
    outcome[k] = index + 1;
  };
  const poolFor = (user: ClientUser) => {
    const key = `${user.address} ${user.instance}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = new Pool(new URL(config.urls[user.instance] as string).origin, {
        connections: config.connections,
        localAddress: user.address,
        headersTimeout: plan.timeoutMs,
        bodyTimeout: plan.timeoutMs,
      });
      pools.set(key, pool);
    }
    return pool;
  };
  const paths = config.urls.map((url) => new URL(url).pathname);

  /** The next request of the plan: which user, which operation, with what variables. */
  const nextRequest = (k: number) => {
    if (plan.plan === 'fanout') {
      const user = users[Math.floor(pick() * users.length)] as ClientUser;
      return { user, name: 'send' as OperationName, chatId: user.chatIds[0] as string };
    }
    // Round robin: each user acts every users / rate seconds.
    const user = users[k % users.length] as ClientUser;
    const state = states.get(user.user) as UserState;
    const name = MIXED_CYCLE[state.step++ % MIXED_CYCLE.length] as OperationName;
    if (name === 'history') {
      state.chat = (state.chat + 1) % user.chatIds.length;
      state.before = null;
    }
    return { user, name, chatId: user.chatIds[state.chat] as string, state };
  };
  const variablesOf = (name: OperationName, user: ClientUser, chatId: string, k: number, state?: UserState) => {
    switch (name) {
      case 'send':
        return { input: { chatId, content: `load message ${plan.run}-${config.index}-${k}` } };
      case 'chats':
        return { first: PAGE_SIZE };
      case 'history':
        return { chatId, last: PAGE_SIZE };
      case 'older':
        return { chatId, last: PAGE_SIZE, ...(state?.before ? { before: state.before } : {}) };
      case 'refresh':
        return { refreshToken: user.refreshToken ?? '' };
      default:
        return { chatId };
    }
  };

  const origin = plan.startAt - performance.timeOrigin;
  let inFlight = 0;
  let issued = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const settle = () => {
    inFlight--;
    if (issued === total && inFlight === 0) finish();
  };

  const fire = (k: number, at: number) => {
    const { user, name, chatId, state } = nextRequest(k);
    const dueAt = dueOf(k);
    due[k] = dueAt;
    late[k] = at - dueAt;
    operation[k] = OPERATION_NAMES.indexOf(name);
    inFlight++;
    const body = JSON.stringify({ query: DOCUMENTS[name], variables: variablesOf(name, user, chatId, k, state) });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (name !== 'refresh') headers.authorization = `Bearer ${user.token}`;
    poolFor(user)
      .request({ method: 'POST', path: paths[user.instance] as string, headers, body })
      .then(async (response) => {
        const text = await response.body.text();
        const answeredAt = performance.now() - origin;
        latency[k] = answeredAt - dueAt;
        let parsed:
          | { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: unknown } }[] }
          | undefined;
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          parsed = undefined;
        }
        if (response.statusCode !== 200) return fail(k, `http ${response.statusCode}${errorCode(parsed)}`);
        if (!parsed || parsed.errors?.length || !parsed.data) return fail(k, `graphql${errorCode(parsed)}`);
        const timing = { due: dueAt, ackAt: answeredAt + origin + performance.timeOrigin };
        answered(name, user, chatId, parsed.data, timing, state);
      })
      .catch((error: unknown) => {
        latency[k] = performance.now() - origin - dueAt;
        fail(k, `network ${(error as { code?: string }).code ?? (error as Error).name ?? 'error'}`);
      })
      .finally(settle);
  };

  /** What a user remembers from an answer: the message it sent, the page it scrolled to, new tokens. */
  const answered = (
    name: OperationName,
    user: ClientUser,
    chatId: string,
    data: Record<string, unknown>,
    timing: { due: number; ackAt: number },
    state: UserState | undefined,
  ) => {
    if (name === 'send') {
      sent.push({ id: (data.sendMessage as { id: string }).id, user: user.user, chatId, ...timing });
    } else if ((name === 'history' || name === 'older') && state) {
      const info = (data.messages as { pageInfo: { hasPreviousPage: boolean; startCursor: string | null } }).pageInfo;
      // Scrolled to the oldest message: the next 'older' starts from the newest page again.
      state.before = info.hasPreviousPage ? info.startCursor : null;
    } else if (name === 'refresh') {
      const tokens = data.refreshToken as { accessToken: string; refreshToken: string };
      user.token = tokens.accessToken;
      user.refreshToken = tokens.refreshToken;
    }
  };

  const tick = () => {
    const now = performance.now() - origin;
    while (issued < total && dueOf(issued) <= now) {
      fire(issued, now);
      issued++;
    }
    if (issued < total) setTimeout(tick, Math.max(0, dueOf(issued) - (performance.now() - origin)));
    else if (inFlight === 0) finish();
  };
  setTimeout(tick, Math.max(0, origin - performance.now()));
  await finished;
  return {
    due,
    latency,
    late,
    operation,
    outcome,
    errorKinds,
    sent,
    tokens: users.map((user) => ({ user: user.user, token: user.token, refreshToken: user.refreshToken })),
  };
}

const states = new Map<number, UserState>();

async function handle(request: ClientRequest): Promise<unknown> {
  switch (request.method) {
    case 'setup': {
      setup = request.setup;
      const start = random(setup.seed + setup.index);
      for (const user of setup.users) {
        states.set(user.user, { step: Math.floor(start() * MIXED_CYCLE.length), chat: 0, before: null });
      }
      return null;
    }
    case 'subscribe':
      await subscribeAll(setup as ClientWorkerSetup);
      return status();
    case 'status':
      return status();
    case 'act':
      return act(setup as ClientWorkerSetup, request.plan, states);
    case 'collect':
      return collect();
    case 'close':
      stopping = true;
      for (const subscription of subscriptions) subscription.close();
      await Promise.all([...pools.values(), ...agents.values()].map((dispatcher) => dispatcher.destroy()));
      return null;
  }
}

process.on('message', (request: ClientRequest) => {
  handle(request).then(
    (value) => process.send?.({ id: request.id, ok: true, value } satisfies ClientReply),
    (error: unknown) =>
      process.send?.({
        id: request.id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies ClientReply),
  );
});
process.on('disconnect', () => process.exit(0));
