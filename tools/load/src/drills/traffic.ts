import { random } from '../random.ts';
import type { SeededChat, SeededUser } from '../seed.ts';
import type { Endpoints } from './http.ts';

const SEND = /* GraphQL */ `mutation DrillSend($input: SendMessageInput!) {
  sendMessage(input: $input) { id seq cursor }
}`;
const READ = /* GraphQL */ `query DrillRead($chatId: ID!) {
  messages(chatId: $chatId, last: 10) { edges { node { seq } } }
}`;

/** One HTTP request as the drill saw it; times in ms since the load started. */
export interface AttemptRecord {
  op: 'send' | 'read';
  instance: number;
  start: number;
  end: number;
  /** undefined: success. */
  error: string | undefined;
}

/** One message the load wanted sent, through all its attempts (same `clientId` each time). */
export interface SendRecord {
  index: number;
  chat: number;
  user: number;
  clientId: string;
  /** When it was due (open loop). */
  due: number;
  /** When its first attempt left. */
  firstStart: number;
  /** When its last attempt left. */
  lastStart: number;
  attempts: number;
  /** The instances its attempts went to, in order. */
  instances: number[];
  /** Set once a send was answered with a message. */
  ackAt?: number;
  id?: string;
  seq?: number;
  /** The last error, when it was never acknowledged. */
  failure?: string;
}

export interface ReadRecord {
  chat: number;
  start: number;
  end: number;
  error: string | undefined;
}

export interface TrafficOptions {
  endpoints: Endpoints;
  users: readonly SeededUser[];
  chats: readonly SeededChat[];
  rate: number;
  readRate: number;
  durationMs: number;
  /** Distinguishes this run's client ids. */
  runId: string;
  /** ms since the load started (the drill's clock). */
  now: () => number;
  /** A send is given up this long after it was due. @default 30000 */
  sendDeadlineMs?: number;
  /** Called when a send is acknowledged (the drill matches deliveries to it). */
  onAck?: (record: SendRecord) => void;
  signal?: AbortSignal;
}

export interface Traffic {
  sends: SendRecord[];
  reads: ReadRecord[];
  attempts: AttemptRecord[];
  /** Resolves once every request due in the window has its final answer. */
  done: Promise<void>;
}

/** The longest random pause between two attempts of one send. */
const MAX_BACKOFF_MS = 4_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Open loop (requests leave on schedule whatever the servers do): `rate` sends per second, chats
 * in turn, each by a random participant through its own instance (user `u`: instance
 * `u mod instances`, or the next one in rotation); `readRate` reads of a chat's last page by a
 * random participant. A send that fails on a connection error, a timeout, a 5xx or a
 * server-side GraphQL error is retried with the same `clientId` after the answer's `Retry-After`
 * (if any) plus a random pause below 100 ms, 200 ms, ... 4 s (exponential backoff with full
 * jitter), until `sendDeadlineMs` after it was due; every attempt is recorded. Reads are never
 * retried.
 */
export function startTraffic(options: TrafficOptions): Traffic {
  const { endpoints, users, chats, now } = options;
  const sends: SendRecord[] = [];
  const reads: ReadRecord[] = [];
  const attempts: AttemptRecord[] = [];
  const deadlineMs = options.sendDeadlineMs ?? 30_000;
  const next = random(0x5eed);
  const jitter = random(0x7177e5);
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const memberOf = (chat: SeededChat) => chat.members[Math.floor(next() * chat.members.length)] as number;

  const send = async (record: SendRecord) => {
    const chat = chats[record.chat] as SeededChat;
    const token = (users[record.user] as SeededUser).token;
    const body = JSON.stringify({
      query: SEND,
      variables: { input: { chatId: chat.id, content: `drill message ${record.index}`, clientId: record.clientId } },
    });
    let delay = 100;
    for (;;) {
      const instance = endpoints.pick(record.user % endpoints.count);
      const start = now();
      if (record.attempts === 0) record.firstStart = start;
      record.lastStart = start;
      record.attempts++;
      record.instances.push(instance);
      const outcome = await endpoints.post(instance, body, token);
      const end = now();
      attempts.push({ op: 'send', instance, start, end, error: outcome.ok ? undefined : outcome.kind });
      if (outcome.ok) {
        const sent = outcome.data.sendMessage as { id: string; seq: number };
        record.ackAt = end;
        record.id = sent.id;
        record.seq = sent.seq;
        delete record.failure;
        options.onAck?.(record);
        return;
      }
      record.failure = outcome.kind;
      if (!outcome.retriable || end + delay > record.due + deadlineMs || options.signal?.aborted) return;
      // "Full jitter": clients that failed together do not all come back together; no sooner
      // than the server's Retry-After.
      await sleep((outcome.retryAfterMs ?? 0) + jitter() * delay);
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
  };

  const read = async (chatIndex: number) => {
    const chat = chats[chatIndex] as SeededChat;
    const user = memberOf(chat);
    const instance = endpoints.pick(user % endpoints.count);
    const start = now();
    const outcome = await endpoints.post(
      instance,
      JSON.stringify({ query: READ, variables: { chatId: chat.id } }),
      (users[user] as SeededUser).token,
    );
    const end = now();
    const error = outcome.ok ? undefined : outcome.kind;
    attempts.push({ op: 'read', instance, start, end, error });
    reads.push({ chat: chatIndex, start, end, error });
  };

  const totalSends = Math.floor((options.rate * options.durationMs) / 1000);
  const totalReads = Math.floor((options.readRate * options.durationMs) / 1000);
  const sendDue = (k: number) => (k * 1000) / options.rate;
  const readDue = (k: number) => (k * 1000) / options.readRate;
  let sent = 0;
  let readCount = 0;
  let finish: () => void = () => {};
  const scheduled = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const tick = () => {
    const at = now();
    while (sent < totalSends && sendDue(sent) <= at && !options.signal?.aborted) {
      const chat = sent % chats.length;
      const record: SendRecord = {
        index: sent,
        chat,
        user: memberOf(chats[chat] as SeededChat),
        clientId: `drill-${options.runId}-${sent}`,
        due: sendDue(sent),
        firstStart: at,
        lastStart: at,
        attempts: 0,
        instances: [],
      };
      sends.push(record);
      track(send(record));
      sent++;
    }
    while (readCount < totalReads && readDue(readCount) <= at && !options.signal?.aborted) {
      track(read(Math.floor(next() * chats.length)));
      readCount++;
    }
    const more = (sent < totalSends || readCount < totalReads) && !options.signal?.aborted;
    if (!more) {
      finish();
      return;
    }
    const nextDue = Math.min(
      sent < totalSends ? sendDue(sent) : Number.POSITIVE_INFINITY,
      readCount < totalReads ? readDue(readCount) : Number.POSITIVE_INFINITY,
    );
    setTimeout(tick, Math.max(0, nextDue - now()));
  };
  tick();

  const done = (async () => {
    await scheduled;
    while (pending.size > 0) await Promise.all([...pending]);
  })();
  return { sends, reads, attempts, done };
}
