import type { Principal } from '@switchboard/auth';
import type { Connection, Paginator } from '@switchboard/pagination';
import type { Rbac } from '@switchboard/rbac';
import type { Outbox } from '@switchboard/tx';
import { parseInput } from '@switchboard/validation';
import type { AuditAdminAccess } from './admin-audit.ts';
import type { ChatDb, Reader } from './db.ts';
import { AppError, notFound } from './errors.ts';
import { type ChatEvents, type TypingEvent, traceHeadersOf } from './events.ts';
import { idInput } from './inputs.ts';
import {
  MESSAGE_ADDED,
  type Message,
  type MessageRow,
  messagesQueryKey,
  messagesSource,
  toMessage,
} from './messages.ts';
import { chatScope } from './roles.ts';
import { createUserEventStreams, type UserEvent } from './user-events.ts';

const REPLAY_PAGE = 100;
/** The most messages one back-fill reads before handing them out. */
const FILL_BATCH = 400;

/** Something that ends a live feed: a pubsub subscription's `return`. */
interface Closable {
  return?: () => unknown;
}

/** What a subscriber waits on: the messages its chat's feed hands it, in order. */
interface Inbox {
  push(message: Message): void;
  /** The next message, or `undefined` once closed. */
  next(): Promise<Message | undefined>;
  close(): void;
}

/**
 * One chat's live messages on this instance, shared by all its subscribers here: one pub/sub
 * subscription, put in sequence order with no gap (late arrivals awaited, lost ones read from
 * the database) before they are handed to the subscribers.
 */
interface ChatFeed {
  chatId: string;
  /** Subscribers opening or open (the feed closes when the last one leaves). */
  refs: number;
  inboxes: Set<Inbox>;
  /** Resolves once the start position is known (or could not be read). */
  ready: Promise<void>;
  /** The start position was read (or failed: then the first message sets it). */
  started: boolean;
  /**
   * Every message up to this sequence number has been handed out, or predates the feed;
   * `undefined` until known (the chat's `last_seq` when the feed opened, else the first message).
   */
  position: number | undefined;
  /** Messages that arrived ahead of a missing one, by sequence number. */
  ahead: Map<number, Message>;
  /** The highest sequence number known to exist: from live messages and the periodic check. */
  known: number;
  gapTimer: NodeJS.Timeout | undefined;
  filling: boolean;
  closed: boolean;
  live: Closable;
}

/** Options of {@link createSubscriptions}. */
export interface SubscriptionsOptions {
  db: ChatDb;
  rbac: Rbac;
  /** Records a platform admin's subscription to a chat they are not in (admin-audit.ts). */
  auditAdminAccess: AuditAdminAccess;
  paginator: Paginator;
  events: ChatEvents;
  /** With telemetry: each message delivered on this instance is a span (`outbox.withDeliverySpan`). */
  outbox?: Pick<Outbox, 'withDeliverySpan'>;
  /** Subscriptions one user may hold open on this instance. */
  maxPerUser: number;
  /**
   * How long a gap in a chat's live feed waits for the missing messages to arrive late (relays
   * on several instances, Redis) before they are read from the database, in ms. @default 200
   */
  gapWaitMs?: number;
  /**
   * How often the chats with subscribers on this instance are compared with their `last_seq`
   * (one query for all of them), in ms: finds lost messages that no later message reveals.
   * @default 1000
   */
  checkIntervalMs?: number;
  /** Where a failed database read of the back-fill is reported (it is retried). */
  log?: { warn(details: Record<string, unknown>, message: string): void };
  /**
   * How long an ended session is remembered (see `endSession`), in ms: a subscription of it
   * that was still starting when it ended ends as soon as it starts. At least the access tokens'
   * lifetime, after which no subscription of the session can start. @default 960000 (16 min)
   */
  endedSessionMemoryMs?: number;
}

/**
 * Subscriptions, authorized when they start and again for each event (a warm rbac check, no
 * query): a participant removed from a chat stops receiving at its next event, and a stream
 * ends once the access token it was opened with has expired (log in again to resume).
 *
 * `messageAdded` never misses a message, even when pub/sub loses some (a Redis failover): each
 * chat's feed on this instance notices a skipped sequence number, waits `gapWaitMs` for it to
 * arrive late, then reads what is still missing from PostgreSQL before handing out anything
 * after it; a loss with no later message is found by the `checkIntervalMs` check of `last_seq`.
 *
 * Every stream of a session ends at once when `endSession` is called with its id (the session
 * was revoked), whatever it is waiting for.
 */
export function createSubscriptions(options: SubscriptionsOptions) {
  const { db, rbac, paginator, events, maxPerUser, log, auditAdminAccess } = options;
  const withDeliverySpan = options.outbox?.withDeliverySpan.bind(options.outbox);
  const gapWaitMs = options.gapWaitMs ?? 200;
  const checkIntervalMs = options.checkIntervalMs ?? 1_000;
  const endedSessionMemoryMs = options.endedSessionMemoryMs ?? 16 * 60_000;
  let active = 0;
  const openByUser = new Map<string, number>();
  // Session id → how to end each of its open streams.
  const streamsBySession = new Map<string, Set<() => void>>();
  // Session id → until when it is remembered as ended; in the order ended, so the first are due first.
  const endedSessions = new Map<string, number>();
  const forgetEndedSessions = () => {
    const now = Date.now();
    for (const [id, until] of endedSessions) {
      if (until > now) break;
      endedSessions.delete(id);
    }
  };
  const isEnded = (sessionId: string) => {
    forgetEndedSessions();
    return endedSessions.has(sessionId);
  };
  const userEventStreams = createUserEventStreams({ db, rbac, events, ...(log ? { log } : {}) });

  /** Takes one of the user's subscription slots, or refuses: each one holds a live feed and memory. */
  const reserve = (userId: string) => {
    const open = openByUser.get(userId) ?? 0;
    if (open >= maxPerUser) {
      throw new AppError(
        'TOO_MANY_SUBSCRIPTIONS',
        `at most ${maxPerUser} subscriptions may be open at once; end one before starting another`,
      );
    }
    openByUser.set(userId, open + 1);
  };
  const release = (userId: string) => {
    const open = (openByUser.get(userId) ?? 1) - 1;
    if (open <= 0) openByUser.delete(userId);
    else openByUser.set(userId, open);
  };

  const authorize = async (
    userId: string,
    rawChatId: unknown,
    action: 'messages.subscribe' | 'typing.subscribe' = 'messages.subscribe',
  ): Promise<string> => {
    const chatId = parseInput(idInput, rawChatId);
    if (!(await rbac.can(userId, 'message:read', { scope: chatScope(chatId) }))) throw notFound('chat');
    await auditAdminAccess(userId, chatId, action);
    return chatId;
  };
  const stillAllowed = async (viewer: Principal, chatId: string) =>
    (viewer.claims.exp === undefined || viewer.claims.exp * 1000 > Date.now()) &&
    (await rbac.can(viewer.userId, 'message:read', { scope: chatScope(chatId) }));

  /**
   * Wraps a subscription's generator so that a client going away ends it at once: the generator
   * waits inside the live feed, where its own `return()` would only be seen at the next event,
   * so the feed is closed first. Likewise when the viewer's session ends (`endSession`): the
   * stream completes at once, without waiting for an event. Counts the subscriptions open.
   */
  const closable = <T>(viewer: Principal, source: AsyncGenerator<T>, live: Closable): AsyncGenerator<T> => {
    const { userId, sessionId } = viewer;
    active++;
    let closed = false;
    let endNow = () => {};
    const ended = new Promise<IteratorReturnResult<undefined>>((resolve) => {
      endNow = () => resolve({ done: true, value: undefined });
    });
    const end = () => {
      endNow();
      void close()
        .then(() => source.return(undefined as never))
        .catch(() => {});
    };
    let sessionStreams = streamsBySession.get(sessionId);
    if (!sessionStreams) {
      sessionStreams = new Set();
      streamsBySession.set(sessionId, sessionStreams);
    }
    sessionStreams.add(end);
    const close = async () => {
      if (closed) return;
      closed = true;
      active--;
      release(userId);
      const streams = streamsBySession.get(sessionId);
      streams?.delete(end);
      if (streams?.size === 0) streamsBySession.delete(sessionId);
      await live.return?.();
    };
    // Revoked while it was starting (after its token was checked, before it got here).
    if (isEnded(sessionId)) end();
    const wrapped: AsyncGenerator<T> = {
      next: async () => {
        if (closed) return { done: true, value: undefined };
        const pending = source.next();
        // Left behind when the session ends first: its failure then has nobody to tell.
        pending.catch(() => {});
        const result = await Promise.race([pending, ended]);
        if (result.done) await close();
        return result;
      },
      return: async (value) => {
        await close();
        return source.return(value as never);
      },
      throw: async (error) => {
        await close();
        return source.throw(error);
      },
      [Symbol.asyncIterator]() {
        return wrapped;
      },
    };
    return wrapped;
  };

  const cursorOf = (chatId: string, seq: number) =>
    paginator.postgresCursor([String(seq)], messagesSource(chatId), { queryKey: messagesQueryKey(chatId) });

  /** The cursor a message has in its chat's connection, so a client can resume from a live one too. */
  const withCursor = (message: Message): Message => ({ ...message, cursor: cursorOf(message.chatId, message.seq) });

  /** The messages `from`..`to` that `reader` has, in order, with their cursors. */
  const readPages = async (reader: Reader, chatId: string, from: number, to: number): Promise<Message[]> => {
    const found: Message[] = [];
    let after = cursorOf(chatId, from - 1);
    for (let next = from; next <= to; ) {
      const page: Connection<MessageRow> = await paginator.fromPostgres<MessageRow>(
        reader,
        messagesSource(chatId),
        { first: Math.min(to - next + 1, REPLAY_PAGE), after },
        { queryKey: messagesQueryKey(chatId) },
      );
      const last = page.edges.at(-1);
      if (!last) break;
      for (const edge of page.edges) {
        const message = { ...toMessage(edge.node), cursor: edge.cursor };
        if (message.seq <= to) found.push(message);
      }
      next = Number(last.node.seq) + 1;
      after = last.cursor;
    }
    return found;
  };

  /**
   * The messages `from`..`to` of a chat, in order. Read through `reader`; if that copy lacks
   * some (a replica that has not replayed another user's message yet), read again from the
   * primary, which has every committed message: sequence numbers have no holes, so what even
   * the primary lacks does not exist (the chat was deleted).
   */
  const readRange = async (reader: Reader, chatId: string, from: number, to: number): Promise<Message[]> => {
    const found = await readPages(reader, chatId, from, to);
    return found.length === to - from + 1 || reader === db.primary ? found : readPages(db.primary, chatId, from, to);
  };

  const feeds = new Map<string, ChatFeed>();
  let checkTimer: NodeJS.Timeout | undefined;
  let checking = false;

  const emit = (feed: ChatFeed, message: Message) => {
    const delivered = message.cursor ? message : withCursor(message);
    for (const inbox of feed.inboxes) inbox.push(delivered);
  };

  /** Hands out what is next in order; a gap left open starts its wait (unless it is being filled). */
  const drain = (feed: ChatFeed) => {
    if (feed.position === undefined || feed.closed) return;
    for (let next = feed.ahead.get(feed.position + 1); next; next = feed.ahead.get(feed.position + 1)) {
      feed.ahead.delete(next.seq);
      feed.position = next.seq;
      emit(feed, next);
    }
    if (feed.known <= feed.position) {
      clearTimeout(feed.gapTimer);
      feed.gapTimer = undefined;
    } else if (!feed.gapTimer && !feed.filling) {
      feed.gapTimer = setTimeout(() => void fill(feed), gapWaitMs);
    }
  };

  const accept = (feed: ChatFeed, message: Message) => {
    if (feed.position !== undefined && message.seq <= feed.position) return;
    feed.ahead.set(message.seq, message);
    feed.known = Math.max(feed.known, message.seq);
    if (feed.position !== undefined) drain(feed);
    else if (feed.started) startAt(feed, message.seq - 1);
  };

  /**
   * Reads what the feed still misses, after its wait: from a replica (any: the feed serves every
   * subscriber of the chat), from the primary where the replica is behind; never skips a
   * message that exists. A failed read is retried every `checkIntervalMs`; meanwhile the
   * subscribers wait (nothing after a gap is handed out before the gap is filled).
   */
  const fill = async (feed: ChatFeed) => {
    feed.gapTimer = undefined;
    if (feed.closed || feed.filling || feed.position === undefined) return;
    feed.filling = true;
    let position = feed.position;
    try {
      while (!feed.closed && position < feed.known) {
        const to = Math.min(feed.known, position + FILL_BATCH);
        const messages = await readRange(db.readerFor(undefined), feed.chatId, position + 1, to);
        // Live messages may have moved the feed on meanwhile.
        position = Math.max(position, feed.position ?? position);
        for (const message of messages) if (message.seq > position) feed.ahead.set(message.seq, message);
        for (let seq = position + 1; seq <= to; seq++) {
          const message = feed.ahead.get(seq);
          feed.ahead.delete(seq);
          position = feed.position = seq;
          if (message) emit(feed, message);
        }
      }
    } catch (error) {
      log?.warn({ err: error, chatId: feed.chatId }, 'reading the messages a live feed missed failed: retrying');
      if (!feed.closed) feed.gapTimer = setTimeout(() => void fill(feed), checkIntervalMs);
    } finally {
      feed.filling = false;
    }
    drain(feed);
  };

  /**
   * One query for every chat with subscribers here: a chat whose `last_seq` is ahead of its
   * feed lost its latest messages (nothing came after them to reveal the gap); they are filled
   * after the usual wait, so messages merely in flight through the relay cost no read. On the
   * primary: one indexed look-up per interval, where a replica's lag would add to the bound.
   */
  const check = async () => {
    const watched = [...feeds.values()].filter((feed) => feed.position !== undefined);
    if (checking || watched.length === 0) return;
    checking = true;
    try {
      const { rows } = await db.primary.query<{ id: string; last_seq: string }>(
        'SELECT id, last_seq FROM chats WHERE id = ANY($1::uuid[])',
        [watched.map((feed) => feed.chatId)],
      );
      for (const row of rows) {
        const feed = feeds.get(row.id);
        if (!feed) continue;
        feed.known = Math.max(feed.known, Number(row.last_seq));
        drain(feed);
      }
    } catch (error) {
      log?.warn({ err: error }, 'checking the chats of live feeds for lost messages failed');
    } finally {
      checking = false;
    }
  };

  /** Sets where the feed starts: what is at or before it predates the feed. */
  const startAt = (feed: ChatFeed, position: number) => {
    feed.position = position;
    for (const seq of feed.ahead.keys()) if (seq <= position) feed.ahead.delete(seq);
    feed.known = Math.max(feed.known, position);
    drain(feed);
  };

  /** The chat's feed on this instance, opened by its first subscriber. */
  const joinFeed = (chatId: string): ChatFeed => {
    const existing = feeds.get(chatId);
    if (existing) {
      existing.refs++;
      return existing;
    }
    const live = events.pubsub.subscribe('message:added', chatId);
    const feed: ChatFeed = {
      chatId,
      refs: 1,
      inboxes: new Set(),
      ready: Promise.resolve(),
      started: false,
      position: undefined,
      ahead: new Map(),
      known: 0,
      gapTimer: undefined,
      filling: false,
      closed: false,
      live,
    };
    feeds.set(chatId, feed);
    // Listening starts here, before the start position is read: whatever commits after that
    // read is either heard or, if pub/sub loses it, filled like any other gap. The position
    // comes from the primary: a replica behind it would hand out messages sent before the
    // subscription (which a client that just read the history would show twice).
    (async () => {
      for await (const message of live) {
        // With telemetry: the delivery on this instance is a span, child of the relay's publish.
        const headers = traceHeadersOf(message);
        if (headers && withDeliverySpan) {
          withDeliverySpan({ topic: MESSAGE_ADDED, headers, id: message.id }, () => accept(feed, message));
        } else {
          accept(feed, message);
        }
      }
    })().catch((error: unknown) => log?.warn({ err: error, chatId }, 'a live feed failed'));
    feed.ready = (async () => {
      let start: number | undefined;
      try {
        const { rows } = await db.primary.query<{ last_seq: string }>('SELECT last_seq FROM chats WHERE id = $1', [
          chatId,
        ]);
        start = Number(rows[0]?.last_seq ?? 0);
      } catch (error) {
        log?.warn({ err: error, chatId }, 'reading where a live feed starts failed: it starts at its first message');
      }
      feed.started = true;
      if (start !== undefined) startAt(feed, start);
      else if (feed.ahead.size > 0) startAt(feed, Math.min(...feed.ahead.keys()) - 1);
    })();
    if (!checkTimer) {
      checkTimer = setInterval(() => void check(), checkIntervalMs);
      checkTimer.unref();
    }
    return feed;
  };

  const leaveFeed = async (feed: ChatFeed, inbox: Inbox) => {
    inbox.close();
    feed.inboxes.delete(inbox);
    if (--feed.refs > 0) return;
    feed.closed = true;
    clearTimeout(feed.gapTimer);
    if (feeds.get(feed.chatId) === feed) feeds.delete(feed.chatId);
    if (feeds.size === 0) {
      clearInterval(checkTimer);
      checkTimer = undefined;
    }
    await feed.live.return?.();
  };

  /**
   * The sequence number of the message a cursor points at, when nothing follows it: the one
   * before it, plus one (numbers have no holes). From the primary, which has every message.
   */
  const seqOfCursor = async (chatId: string, cursor: string): Promise<number> => {
    const page = await paginator.fromPostgres<MessageRow>(
      db.primary,
      messagesSource(chatId),
      { last: 1, before: cursor },
      { queryKey: messagesQueryKey(chatId) },
    );
    return Number(page.edges[0]?.node.seq ?? 0) + 1;
  };

  async function* replayThenLive(
    viewer: Principal,
    chatId: string,
    after: string | undefined,
    joinedAt: number | undefined,
    inbox: Inbox,
  ) {
    // The last message this subscriber has; without `after`, the feed's position when it joined
    // (live only: the first message it hands out, if that position is not known).
    let lastSeq = joinedAt;
    if (after) {
      lastSeq = undefined;
      let cursor: string | null = after;
      while (cursor) {
        const page: Connection<MessageRow> = await paginator.fromPostgres<MessageRow>(
          db.readerFor(viewer.userId),
          messagesSource(chatId),
          { first: REPLAY_PAGE, after: cursor },
          { queryKey: messagesQueryKey(chatId) },
        );
        for (const edge of page.edges) {
          const message = { ...toMessage(edge.node), cursor: edge.cursor };
          lastSeq = message.seq;
          yield message;
        }
        cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      }
      lastSeq ??= await seqOfCursor(chatId, after);
    }
    // What the feed handed out before this subscriber joined and its replay did not cover (it
    // read a replica behind the feed), and, for a feed that started at its first message,
    // whatever came before that; every read is checked like a live message.
    const missed = async function* (from: number, to: number): AsyncGenerator<Message, boolean> {
      for (const message of await readRange(db.readerFor(viewer.userId), chatId, from, to)) {
        if (!(await stillAllowed(viewer, chatId))) return false;
        yield message;
      }
      return true;
    };
    if (joinedAt !== undefined && lastSeq !== undefined && lastSeq < joinedAt) {
      if (!(yield* missed(lastSeq + 1, joinedAt))) return;
      lastSeq = joinedAt;
    }
    for (let message = await inbox.next(); message; message = await inbox.next()) {
      if (lastSeq !== undefined && message.seq <= lastSeq) continue;
      if (lastSeq !== undefined && message.seq > lastSeq + 1 && !(yield* missed(lastSeq + 1, message.seq - 1))) return;
      if (!(await stillAllowed(viewer, chatId))) return;
      lastSeq = message.seq;
      yield message;
    }
  }

  async function* filtered<T>(viewer: Principal, chatId: string, live: AsyncIterable<T>, skip?: (event: T) => boolean) {
    for await (const event of live) {
      if (skip?.(event)) continue;
      if (!(await stillAllowed(viewer, chatId))) return;
      yield event;
    }
  }

  return {
    /** Open subscriptions, for /metrics. */
    active: () => active,

    /**
     * The session was revoked: every stream of it on this instance completes now (not at its
     * next event), and one of it still starting completes as soon as it starts.
     */
    endSession(sessionId: string): void {
      forgetEndedSessions();
      endedSessions.delete(sessionId);
      endedSessions.set(sessionId, Date.now() + endedSessionMemoryMs);
      const streams = streamsBySession.get(sessionId);
      streamsBySession.delete(sessionId);
      for (const end of streams ?? []) end();
    },

    /**
     * Replay, then live, with no gap and no duplicate at the seam: the chat's live feed is joined
     * first, the messages after `after` are read from the database, then live messages follow
     * from the first sequence number the replay did not cover. Without `after`, live only: from
     * the feed's position when the subscriber joined. Events the relay delivers twice are
     * dropped; events pub/sub lost are read from the database (see {@link createSubscriptions}).
     */
    async messageAdded(viewer: Principal, rawChatId: unknown, after: string | null | undefined) {
      const chatId = await authorize(viewer.userId, rawChatId);
      reserve(viewer.userId);
      const feed = joinFeed(chatId);
      const inbox = createInbox();
      await feed.ready;
      // Everything the feed hands out from now on is after this position.
      const joinedAt = feed.position;
      feed.inboxes.add(inbox);
      return closable(viewer, replayThenLive(viewer, chatId, after ?? undefined, joinedAt, inbox), {
        return: () => leaveFeed(feed, inbox),
      });
    },

    async messageUpdated(viewer: Principal, rawChatId: unknown) {
      const chatId = await authorize(viewer.userId, rawChatId);
      reserve(viewer.userId);
      const live = events.pubsub.subscribe('message:updated', chatId);
      return closable(viewer, filtered(viewer, chatId, live), live);
    },

    async typing(viewer: Principal, rawChatId: unknown): Promise<AsyncGenerator<TypingEvent>> {
      const chatId = await authorize(viewer.userId, rawChatId, 'typing.subscribe');
      reserve(viewer.userId);
      const live = events.pubsub.subscribe('typing', chatId);
      return closable(
        viewer,
        filtered(viewer, chatId, live, (event) => event.userId === viewer.userId),
        live,
      );
    },

    /**
     * The user's own feed (invitations, chats joined and left, unread counts), counted against
     * the same per-user limit: see {@link createUserEventStreams}.
     */
    async userEvents(viewer: Principal, ready = false): Promise<AsyncGenerator<UserEvent>> {
      reserve(viewer.userId);
      try {
        const { source, live } = await userEventStreams.open(viewer, ready);
        return closable(viewer, source, live);
      } catch (error) {
        release(viewer.userId);
        throw error;
      }
    },

    async publishTyping(userId: string, rawChatId: unknown): Promise<boolean> {
      const chatId = parseInput(idInput, rawChatId);
      await rbac.assert(userId, 'typing:send', { scope: chatScope(chatId) });
      events.pubsub.publish('typing', chatId, { chatId, userId });
      return true;
    },
  };
}

export type Subscriptions = ReturnType<typeof createSubscriptions>;

function createInbox(): Inbox {
  let items: Message[] = [];
  let head = 0;
  let waiting: ((message: Message | undefined) => void) | undefined;
  let closed = false;
  return {
    push(message) {
      if (closed) return;
      if (waiting) {
        const wake = waiting;
        waiting = undefined;
        wake(message);
      } else items.push(message);
    },
    next() {
      if (head < items.length) {
        const message = items[head++];
        if (head === items.length) {
          items = [];
          head = 0;
        }
        return Promise.resolve(message);
      }
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    close() {
      closed = true;
      items = [];
      head = 0;
      waiting?.(undefined);
      waiting = undefined;
    },
  };
}
