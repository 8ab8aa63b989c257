import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { Agent, fetch } from 'undici';
import WebSocket from 'ws';
import type { SeededChat, SeededUser } from '../seed.ts';

const ADDED = /* GraphQL */ `subscription DrillAdded($chatId: ID!, $after: String) {
  messageAdded(chatId: $chatId, after: $after) { id seq cursor }
}`;

export type Transport = 'sse' | 'ws';

/** One message as a subscriber received it; `at` in ms since the load started. */
export interface Delivery {
  seq: number;
  id: string;
  at: number;
}

/** One subscription of one participant to one chat, across the (rare) reconnections it is allowed. */
export interface SubscriberRecord {
  index: number;
  chat: number;
  user: number;
  transport: Transport;
  /** The instance it is (or was last) connected to. */
  instance: number;
  received: Delivery[];
  /** Every stream it opened: where, from which cursor, when it was asked for and when it was up. */
  connections: { instance: number; after: string; startedAt: number; connectedAt?: number }[];
  /** Every stream that ended before the drill stopped it, and whether it was allowed to resume. */
  ends: { at: number; instance: number; reason: string; resumed: boolean }[];
  /** GraphQL errors that arrived in the stream. */
  errors: string[];
}

export interface SubscribersOptions {
  urls: readonly string[];
  users: readonly SeededUser[];
  chats: readonly SeededChat[];
  count: number;
  /** Per chat: the cursor the first stream starts after (its last message before the load). */
  initialCursors: readonly string[];
  now: () => number;
  /** True once the drill killed that instance: only then may its subscribers resume elsewhere. */
  isDead: (instance: number) => boolean;
  onDelivery?: (subscriber: SubscriberRecord, delivery: Delivery) => void;
}

export interface Subscribers {
  records: SubscriberRecord[];
  /** Resolves once every first stream is up (rejects after `timeoutMs`). */
  ready(timeoutMs: number): Promise<void>;
  /** Whether the subscriber has a stream open (or being resumed) now. */
  isOpen(record: SubscriberRecord): boolean;
  stop(): Promise<void>;
}

interface Stream {
  close(): void;
}

/**
 * Real clients, one per subscriber: graphql-sse (distinct connections) and graphql-ws (one
 * socket each) alternately, spread over the instances, each subscribed to `messageAdded` of one
 * chat with `after` = the chat's last message before the load, so every message of the run is
 * expected. No client library retries: a stream that ends is resumed (with `after` = the cursor
 * of the last message received, on another instance) only when its instance was killed by the
 * drill; any other end is recorded and the subscriber stays incomplete.
 */
export function startSubscribers(options: SubscribersOptions): Subscribers {
  const { urls, users, chats, now } = options;
  const records: SubscriberRecord[] = [];
  const streams = new Map<SubscriberRecord, Stream>();
  const cursors = new Map<SubscriberRecord, string>();
  let stopping = false;
  // The SSE streams' own connections: closed at once on stop (a kept-alive socket of an aborted
  // stream would hold the server's graceful stop for seconds).
  const agent = new Agent({ keepAliveTimeout: 1_000 });
  const sseFetch = (input: string | URL, init?: Parameters<typeof fetch>[1]) =>
    fetch(input, { ...init, dispatcher: agent });

  const open = (record: SubscriberRecord, instance: number, after: string) => {
    const token = (users[record.user] as SeededUser).token;
    const connection: SubscriberRecord['connections'][number] = { instance, after, startedAt: now() };
    record.connections.push(connection);
    record.instance = instance;
    let ended = false;
    const variables = { chatId: (chats[record.chat] as SeededChat).id, after };
    const onConnected = () => {
      connection.connectedAt ??= now();
    };
    const next = (result: { data?: unknown; errors?: readonly { message: string }[] | undefined }) => {
      if (result.errors?.length) record.errors.push(result.errors.map((error) => error.message).join('; '));
      const message = (result.data as { messageAdded?: { id: string; seq: number; cursor: string } } | null)
        ?.messageAdded;
      if (!message) return;
      // A stream delivers only once it is up; graphql-ws says so per socket, not per operation.
      connection.connectedAt ??= now();
      const delivery = { seq: message.seq, id: message.id, at: now() };
      record.received.push(delivery);
      cursors.set(record, message.cursor);
      options.onDelivery?.(record, delivery);
    };
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      streams.delete(record);
      if (stopping) return;
      const resumable = options.isDead(instance);
      record.ends.push({ at: now(), instance, reason, resumed: resumable });
      if (resumable) resume(record, instance);
    };
    const sink = {
      next,
      error: (error: unknown) => end(describe(error)),
      complete: () => end('completed by the server'),
    };
    const url = urls[instance] as string;
    if (record.transport === 'sse') {
      const client = createSseClient({
        url,
        headers: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        fetchFn: sseFetch,
      });
      const unsubscribe = client.subscribe({ query: ADDED, variables }, sink, { connected: onConnected });
      streams.set(record, {
        close: () => {
          unsubscribe();
          client.dispose();
        },
      });
    } else {
      const client = createWsClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        on: { connected: onConnected },
      });
      const unsubscribe = client.subscribe({ query: ADDED, variables }, sink);
      streams.set(record, {
        close: () => {
          unsubscribe();
          void client.dispose();
        },
      });
    }
  };

  /** Its instance died: the next live one, from the last message it has (retried while it refuses). */
  const resume = (record: SubscriberRecord, from: number, tries = 0) => {
    if (stopping) return;
    const alive = urls.map((_, i) => (from + 1 + i) % urls.length).filter((i) => !options.isDead(i));
    const target = alive[0];
    if (target === undefined || tries > 40) return;
    const after = cursors.get(record) ?? (options.initialCursors[record.chat] as string);
    // The server takes a moment to notice; a refused stream ends at once and comes back here.
    setTimeout(() => open(record, target, after), tries === 0 ? 0 : 250);
  };

  const perChat = chats.length;
  for (let index = 0; index < options.count; index++) {
    const chat = index % perChat;
    const round = Math.floor(index / perChat);
    const members = (chats[chat] as SeededChat).members;
    const record: SubscriberRecord = {
      index,
      chat,
      user: members[round % members.length] as number,
      transport: (index + round) % 2 === 0 ? 'sse' : 'ws',
      instance: round % urls.length,
      received: [],
      connections: [],
      ends: [],
      errors: [],
    };
    records.push(record);
    open(record, record.instance, options.initialCursors[chat] as string);
  }

  return {
    records,
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const waiting = records.filter((record) => record.connections[0]?.connectedAt === undefined);
        if (waiting.length === 0) return;
        const ended = records.find((record) => record.ends.length > 0 || record.errors.length > 0);
        if (ended) {
          throw new Error(
            `subscriber ${ended.index} (${ended.transport}) failed to start: ${ended.errors[0] ?? ended.ends[0]?.reason}`,
          );
        }
        if (Date.now() > deadline) {
          throw new Error(`${waiting.length} of ${records.length} subscriptions were not up after ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    isOpen: (record) => streams.has(record),
    async stop() {
      stopping = true;
      for (const stream of streams.values()) stream.close();
      streams.clear();
      await agent.destroy();
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  const close = error as { code?: unknown; reason?: unknown; type?: unknown };
  if (close && typeof close === 'object' && 'code' in close)
    return `closed ${String(close.code)} ${String(close.reason ?? '')}`.trim();
  if (Array.isArray(error))
    return error.map((item) => (item as { message?: string }).message ?? String(item)).join('; ');
  return String(error);
}
