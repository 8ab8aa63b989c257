import type { Connection, Paginator } from '@switchboard/pagination';
import type { Rbac } from '@switchboard/rbac';
import { parseInput } from '@switchboard/validation';
import type { ChatDb } from './db.ts';
import { notFound } from './errors.ts';
import type { ChatEvents, TypingEvent } from './events.ts';
import { idInput } from './inputs.ts';
import { type Message, type MessageRow, messagesQueryKey, messagesSource, toMessage } from './messages.ts';
import { chatScope } from './roles.ts';

const REPLAY_PAGE = 100;

/**
 * Subscriptions, authorized when they start and again for each event (a warm rbac check, no
 * query): a participant removed from a chat stops receiving at its next event.
 */
export function createSubscriptions(deps: { db: ChatDb; rbac: Rbac; paginator: Paginator; events: ChatEvents }) {
  const { db, rbac, paginator, events } = deps;

  const authorize = async (userId: string, rawChatId: unknown): Promise<string> => {
    const chatId = parseInput(idInput, rawChatId);
    if (!(await rbac.can(userId, 'message:read', { scope: chatScope(chatId) }))) throw notFound('chat');
    return chatId;
  };
  const stillAllowed = (userId: string, chatId: string) =>
    rbac.can(userId, 'message:read', { scope: chatScope(chatId) });

  /** The cursor a message has in its chat's connection, so a client can resume from a live one too. */
  const withCursor = (message: Message): Message => ({
    ...message,
    cursor: paginator.postgresCursor([String(message.seq)], messagesSource(message.chatId), {
      queryKey: messagesQueryKey(message.chatId),
    }),
  });

  return {
    /**
     * Replay, then live, with no gap and no duplicate at the seam: the live feed is opened
     * first, the messages after `after` are read from the database, then live messages follow
     * from the first sequence number the replay did not cover. Events the relay delivers twice
     * are dropped the same way.
     */
    async *messageAdded(userId: string, rawChatId: unknown, after: string | null | undefined) {
      const chatId = await authorize(userId, rawChatId);
      const live = events.pubsub.subscribe('message:added', chatId);
      try {
        let lastSeq = 0;
        if (after) {
          let cursor: string | null = after;
          while (cursor) {
            const page: Connection<MessageRow> = await paginator.fromPostgres<MessageRow>(
              db.readerFor(userId),
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
          if (!(await stillAllowed(userId, chatId))) return;
          lastSeq = message.seq;
          yield withCursor(message);
        }
      } finally {
        await live.return?.();
      }
    },

    async *messageUpdated(userId: string, rawChatId: unknown) {
      const chatId = await authorize(userId, rawChatId);
      for await (const message of events.pubsub.subscribe('message:updated', chatId)) {
        if (!(await stillAllowed(userId, chatId))) return;
        yield message;
      }
    },

    async *typing(userId: string, rawChatId: unknown): AsyncGenerator<TypingEvent> {
      const chatId = await authorize(userId, rawChatId);
      for await (const event of events.pubsub.subscribe('typing', chatId)) {
        if (event.userId === userId) continue;
        if (!(await stillAllowed(userId, chatId))) return;
        yield event;
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
