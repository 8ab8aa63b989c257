import type { Principal } from '@switchboard/auth';
import type { Connection, Paginator } from '@switchboard/pagination';
import type { Rbac } from '@switchboard/rbac';
import { parseInput } from '@switchboard/validation';
import type { ChatDb } from './db.ts';
import { AppError, notFound } from './errors.ts';
import type { ChatEvents, TypingEvent } from './events.ts';
import { idInput } from './inputs.ts';
import { type Message, type MessageRow, messagesQueryKey, messagesSource, toMessage } from './messages.ts';
import { chatScope } from './roles.ts';

const REPLAY_PAGE = 100;

/** Something that ends a live feed: a pubsub subscription's `return`. */
interface Closable {
  return?: () => unknown;
}

/**
 * Subscriptions, authorized when they start and again for each event (a warm rbac check, no
 * query): a participant removed from a chat stops receiving at its next event, and a stream
 * ends once the access token it was opened with has expired (log in again to resume).
 */
export function createSubscriptions(deps: {
  db: ChatDb;
  rbac: Rbac;
  paginator: Paginator;
  events: ChatEvents;
  /** Subscriptions one user may hold open on this instance. */
  maxPerUser: number;
}) {
  const { db, rbac, paginator, events, maxPerUser } = deps;
  let active = 0;
  const openByUser = new Map<string, number>();

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

  const authorize = async (userId: string, rawChatId: unknown): Promise<string> => {
    const chatId = parseInput(idInput, rawChatId);
    if (!(await rbac.can(userId, 'message:read', { scope: chatScope(chatId) }))) throw notFound('chat');
    return chatId;
  };
  const stillAllowed = async (viewer: Principal, chatId: string) =>
    (viewer.claims.exp === undefined || viewer.claims.exp * 1000 > Date.now()) &&
    (await rbac.can(viewer.userId, 'message:read', { scope: chatScope(chatId) }));

  /**
   * Wraps a subscription's generator so that a client going away ends it at once: the generator
   * waits inside the live feed, where its own `return()` would only be seen at the next event,
   * so the feed is closed first. Counts the subscriptions open.
   */
  const closable = <T>(userId: string, source: AsyncGenerator<T>, live: Closable): AsyncGenerator<T> => {
    active++;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      active--;
      release(userId);
      await live.return?.();
    };
    const wrapped: AsyncGenerator<T> = {
      next: async () => {
        const result = await source.next();
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

  /** The cursor a message has in its chat's connection, so a client can resume from a live one too. */
  const withCursor = (message: Message): Message => ({
    ...message,
    cursor: paginator.postgresCursor([String(message.seq)], messagesSource(message.chatId), {
      queryKey: messagesQueryKey(message.chatId),
    }),
  });

  async function* replayThenLive(
    viewer: Principal,
    chatId: string,
    after: string | undefined,
    live: AsyncIterable<Message>,
  ) {
    let lastSeq = 0;
    if (after) {
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
    }
    for await (const message of live) {
      if (message.seq <= lastSeq) continue;
      if (!(await stillAllowed(viewer, chatId))) return;
      lastSeq = message.seq;
      yield withCursor(message);
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
     * Replay, then live, with no gap and no duplicate at the seam: the live feed is opened
     * first, the messages after `after` are read from the database, then live messages follow
     * from the first sequence number the replay did not cover. Events the relay delivers twice
     * are dropped the same way.
     */
    async messageAdded(viewer: Principal, rawChatId: unknown, after: string | null | undefined) {
      const chatId = await authorize(viewer.userId, rawChatId);
      reserve(viewer.userId);
      const live = events.pubsub.subscribe('message:added', chatId);
      return closable(viewer.userId, replayThenLive(viewer, chatId, after ?? undefined, live), live);
    },

    async messageUpdated(viewer: Principal, rawChatId: unknown) {
      const chatId = await authorize(viewer.userId, rawChatId);
      reserve(viewer.userId);
      const live = events.pubsub.subscribe('message:updated', chatId);
      return closable(viewer.userId, filtered(viewer, chatId, live), live);
    },

    async typing(viewer: Principal, rawChatId: unknown): Promise<AsyncGenerator<TypingEvent>> {
      const chatId = await authorize(viewer.userId, rawChatId);
      reserve(viewer.userId);
      const live = events.pubsub.subscribe('typing', chatId);
      return closable(
        viewer.userId,
        filtered(viewer, chatId, live, (event) => event.userId === viewer.userId),
        live,
      );
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
