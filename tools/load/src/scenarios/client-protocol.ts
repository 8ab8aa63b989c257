// What the harness and its client workers (src/scenarios/client-worker.ts) say to each other:
// each worker holds its simulated users' subscriptions and sends their requests.

/** The user model a worker plays: `fanout` only sends; `mixed` cycles through `MIXED_CYCLE`. */
export type Plan = 'fanout' | 'mixed';

export type Transport = 'sse' | 'ws';

/** One simulated user as a worker sees it. */
export interface ClientUser {
  /** Index into `World.users`. */
  user: number;
  token: string;
  /** For `refreshToken` (mixed); rotated by every refresh. */
  refreshToken: string | undefined;
  /** Loopback source address of all its connections. */
  address: string;
  /** Index into the worker's `urls`: the instance it talks to. */
  instance: number;
  /** The chats it acts in (ids); the first is the one it subscribes to. */
  chatIds: string[];
  /** Its subscription's transport; undefined: it does not subscribe. */
  transport: Transport | undefined;
}

export interface ClientWorkerSetup {
  index: number;
  workers: number;
  urls: string[];
  users: ClientUser[];
  /** Keep-alive connections per (source address, instance) for the requests. */
  connections: number;
  /** Subscriptions this worker opens at once. */
  openConcurrency: number;
  seed: number;
}

/** One run of requests on a fixed schedule (open loop), from a common start. */
export interface ActPlan {
  plan: Plan;
  /** Epoch ms (performance.timeOrigin + performance.now() in every process) of the schedule's start. */
  startAt: number;
  /** Warm-up plus measured window. */
  totalMs: number;
  /** This worker's share of the offered rate, per second. */
  rate: number;
  /** This worker's place among the workers (0..1): the schedules interleave. */
  phase: number;
  timeoutMs: number;
  /** Distinguishes the contents of this run's messages. */
  run: number;
}

/** One sent message a worker saw acknowledged. */
export interface SentMessage {
  id: string;
  user: number;
  chatId: string;
  /** When it was due, ms after the run's `startAt`. */
  due: number;
  /** When the sendMessage answer arrived, epoch ms. */
  ackAt: number;
}

/** Every request of one run, column by column (index = request). */
export interface ActResult {
  /** Due time, ms after `startAt`. */
  due: Float64Array;
  /** From due to the complete answer. */
  latency: Float64Array;
  /** How late it left its schedule. */
  late: Float64Array;
  /** Index into `OPERATION_NAMES`. */
  operation: Uint8Array;
  /** 0: success; otherwise 1 + index into `errorKinds`. */
  outcome: Uint16Array;
  errorKinds: string[];
  sent: SentMessage[];
  /** Tokens after the run (refreshToken rotates them). */
  tokens: { user: number; token: string; refreshToken: string | undefined }[];
}

/** Messages received since the last `collect`, column by column. */
export interface Deliveries {
  /** The subscriber (index into `World.users`). */
  user: number[];
  id: string[];
  /** Epoch ms. */
  at: number[];
}

export interface ClientStatus {
  /** Subscriptions up (their stream open). */
  open: number;
  /** Subscribers that received a probe message since they opened. */
  probed: number;
  /** Subscribers whose first stream failed or ended, with why. */
  ended: { user: number; reason: string }[];
  /** The chats of the subscribers that have not received a probe yet. */
  waiting: string[];
}

export type ClientRequest =
  | { id: number; method: 'setup'; setup: ClientWorkerSetup }
  | { id: number; method: 'subscribe' }
  | { id: number; method: 'status' }
  | { id: number; method: 'act'; plan: ActPlan }
  | { id: number; method: 'collect' }
  | { id: number; method: 'close' };

export type ClientReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** The content prefix of the messages the harness sends to check that every subscription is live. */
export const PROBE_PREFIX = 'probe ';

/** What every subscriber selects: what a chat client shows for a new message. */
export const MESSAGE_ADDED = /* GraphQL */ `subscription Added($chatId: ID!) {
  messageAdded(chatId: $chatId) { id chatId seq content createdAt cursor sender { id username } }
}`;
