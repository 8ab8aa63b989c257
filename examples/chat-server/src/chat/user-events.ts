import type { Principal } from '@switchboard/auth';
import type { Rbac } from '@switchboard/rbac';
import type { Outbox, Queryable } from '@switchboard/tx';
import type { Chat } from './chats.ts';
import type { ChatDb } from './db.ts';
import type { ChatEvents } from './events.ts';
import type { Message } from './messages.ts';
import { type ChatRole, chatScope } from './roles.ts';

/** Outbox topic of the events of one user's `userEvents` feed. */
export const USER_EVENT = 'chat.user.event';

/**
 * What happened to one user (the GraphQL `UserEventType`):
 * - `INVITED`: someone invited you to a group (you hold no role there until you accept);
 * - `ADDED_TO_CHAT`: you are now a member: someone added you, you created the chat, or you
 *   accepted an invitation (so your other devices learn it too);
 * - `REMOVED_FROM_CHAT`: you are neither in the chat nor invited any more: removed, left,
 *   invitation withdrawn or declined, chat deleted;
 * - `CHAT_UPDATED`: a chat you are in changed for you: your role changed, or an invitation you
 *   sent was accepted or declined;
 * - `UNREAD_CHANGED`: your unread count in one chat changed (a message arrived, you sent one,
 *   you marked the chat read on some device);
 * - `READY`: only asked for (`userEvents(ready: true)`), only first: the feed is live — every
 *   change committed from now on is delivered — so a client reads its chats and invitations on
 *   it and misses nothing between that read and the feed.
 */
export type UserEventType =
  | 'INVITED'
  | 'ADDED_TO_CHAT'
  | 'REMOVED_FROM_CHAT'
  | 'CHAT_UPDATED'
  | 'UNREAD_CHANGED'
  | 'READY';

/** A pending invitation, as its invitee sees it. */
export interface Invitation {
  /** Seen from outside: `preview` is set, so neither participants nor messages show. */
  chat: Chat;
  invitedById: string;
  /** The role accepting gives. */
  role: ChatRole;
  createdAt: string;
}

export interface UnreadCount {
  chatId: string;
  count: number;
}

/** What travels (outbox, then pub/sub) to the `userEvents` streams of one user, and only theirs. */
export interface UserEventPayload {
  userId: string;
  type: UserEventType;
  /** The chat as it was at the change; whether its participants show is decided on delivery. */
  chat?: Chat;
  invitation?: Invitation;
  unreadCount?: UnreadCount;
  /** The user's read mark in the chat after the change (joining, marking read): for the counts. */
  readSeq?: number;
}

/** A `userEvents` event as the resolvers get it. */
export interface UserEvent {
  type: UserEventType;
  chat: Chat | null;
  invitation: Invitation | null;
  unreadCount: UnreadCount | null;
}

/**
 * Writes `events` into the outbox with `tx`, so they exist exactly when its changes commit. Keyed
 * per user: one user's events are delivered in the order they were written.
 */
export async function enqueueUserEvents(
  outbox: Outbox,
  tx: Queryable,
  events: readonly UserEventPayload[],
): Promise<void> {
  if (events.length === 0) return;
  await outbox.enqueueMany(
    tx,
    events.map((event) => ({ topic: USER_EVENT, key: `user:${event.userId}`, payload: event })),
  );
}

/** Ends a live stream (what the subscription wrapper calls when its client goes away). */
interface Closable {
  return?: () => unknown;
}

/** One chat's unread count as a stream knows it: the chat's last message and the user's read mark. */
interface Unread {
  lastSeq: number;
  readSeq: number;
  count: number;
}

/** A queued event; `checkMember`: an unread change computed here, delivered only to a member. */
type Queued = { payload: UserEventPayload; checkMember?: boolean };

/** Options of {@link createUserEventStreams}. */
export interface UserEventStreamsOptions {
  db: ChatDb;
  rbac: Rbac;
  events: ChatEvents;
  /**
   * The most chats one stream follows for `UNREAD_CHANGED` (the ones joined most recently, and
   * those joined while it is open, up to this bound). @default 1000
   */
  maxChats?: number;
  log?: { warn(details: Record<string, unknown>, message: string): void };
}

/**
 * The `userEvents` streams of this instance. Membership events come through the outbox (written
 * in the transaction of the change, published by the relay to `user:event:<userId>` only).
 * Unread counts are computed here, from the messages the relay already publishes per chat: a
 * stream follows its user's chats, and each message moves the count by its sequence number
 * (`chats.last_seq - last_read_seq`), so a message costs no write and no event per member.
 * Counts are absolute, so a lost or repeated message event leaves no lasting error: the next one
 * sets the count right. Read marks arrive as `UNREAD_CHANGED` events published by `markRead`.
 */
export function createUserEventStreams(options: UserEventStreamsOptions) {
  const { db, rbac, events, log } = options;
  const maxChats = options.maxChats ?? 1_000;

  /** One pub/sub subscription per chat on this instance, shared by every stream following it. */
  const watches = new Map<string, { live: Closable; listeners: Set<(message: Message) => void> }>();

  const watch = (chatId: string, listener: (message: Message) => void) => {
    let entry = watches.get(chatId);
    if (!entry) {
      const live = events.pubsub.subscribe('message:added', chatId);
      const listeners = new Set<(message: Message) => void>();
      entry = { live, listeners };
      watches.set(chatId, entry);
      (async () => {
        for await (const message of live) for (const each of listeners) each(message);
      })().catch((error: unknown) => log?.warn({ err: error, chatId }, 'an unread-count feed failed'));
    }
    entry.listeners.add(listener);
  };

  const unwatch = (chatId: string, listener: (message: Message) => void) => {
    const entry = watches.get(chatId);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    watches.delete(chatId);
    void entry.live.return?.();
  };

  const isActiveMember = async (userId: string, chatId: string) => {
    const { rows } = await db.primary.query(
      "SELECT 1 FROM participants WHERE chat_id = $1 AND user_id = $2 AND status = 'active'",
      [chatId, userId],
    );
    return rows.length > 0;
  };

  return {
    /**
     * Opens one user's stream: their own events only (their topic, and each payload's user
     * checked again). A chat travels whole only to a current member (checked on the primary when
     * the event is delivered); otherwise, e.g. in an invitation or after a removal, it is a
     * preview (`Chat.preview`: no participants, no unread count). The stream ends at the first
     * event after the access token it was opened with expired.
     */
    /** With `ready`, the stream's first event is `READY`, sent once its subscription is live. */
    async open(viewer: Principal, ready = false): Promise<{ source: AsyncGenerator<UserEvent>; live: Closable }> {
      const { userId } = viewer;
      const inbox = createQueue<Queued>();
      const unread = new Map<string, Unread>();

      const push = (chatId: string, state: Unread, checkMember: boolean) => {
        const count = Math.max(0, state.lastSeq - state.readSeq);
        if (count === state.count) return;
        state.count = count;
        inbox.push({ payload: { userId, type: 'UNREAD_CHANGED', unreadCount: { chatId, count } }, checkMember });
      };
      const onMessage = (message: Message) => {
        const state = unread.get(message.chatId);
        if (!state) return;
        state.lastSeq = Math.max(state.lastSeq, message.seq);
        // Sending marks the chat read up to the message (messages.ts).
        if (message.senderId === userId) state.readSeq = Math.max(state.readSeq, message.seq);
        push(message.chatId, state, true);
      };
      const follow = (chatId: string, lastSeq: number, readSeq: number) => {
        const state = unread.get(chatId);
        if (state) {
          state.lastSeq = Math.max(state.lastSeq, lastSeq);
          state.readSeq = Math.max(state.readSeq, readSeq);
        } else if (unread.size < maxChats) {
          unread.set(chatId, { lastSeq, readSeq, count: Math.max(0, lastSeq - readSeq) });
          watch(chatId, onMessage);
        }
      };
      const unfollow = (chatId: string) => {
        if (unread.delete(chatId)) unwatch(chatId, onMessage);
      };

      const handle = (payload: UserEventPayload) => {
        if (payload.userId !== userId) return;
        const chatId = payload.chat?.id ?? payload.unreadCount?.chatId;
        if (payload.type === 'ADDED_TO_CHAT' && chatId) follow(chatId, payload.readSeq ?? 0, payload.readSeq ?? 0);
        if (payload.type === 'REMOVED_FROM_CHAT' && chatId) unfollow(chatId);
        if (payload.type === 'UNREAD_CHANGED' && chatId) {
          const state = unread.get(chatId);
          if (state) {
            state.readSeq = Math.max(state.readSeq, payload.readSeq ?? 0);
            state.lastSeq = Math.max(state.lastSeq, state.readSeq);
            push(chatId, state, false);
            return;
          }
        }
        inbox.push({ payload });
      };

      // Listening starts before the counts are read (the first `next` subscribes; what arrives
      // meanwhile waits in the stream), so a change committed after that read is heard.
      const live = events.pubsub.subscribe('user:event', userId);
      const first = live.next();
      try {
        const { rows } = await db.primary.query<{ chat_id: string; last_seq: string; last_read_seq: string }>(
          `SELECT p.chat_id, c.last_seq, p.last_read_seq
             FROM participants p JOIN chats c ON c.id = p.chat_id
            WHERE p.user_id = $1 AND p.status = 'active'
            ORDER BY p.joined_at DESC LIMIT $2`,
          [userId, maxChats],
        );
        for (const row of rows) follow(row.chat_id, Number(row.last_seq), Number(row.last_read_seq));
        // Through Redis, a subscription is live once Redis confirmed it, not when it was asked for.
        if (ready) {
          await events.listening('user:event', userId);
          inbox.push({ payload: { userId, type: 'READY' } });
        }
      } catch (error) {
        for (const chatId of [...unread.keys()]) unfollow(chatId);
        await live.return();
        throw error;
      }
      (async () => {
        for (let result = await first; !result.done; result = await live.next()) handle(result.value);
      })().catch((error: unknown) => {
        log?.warn({ err: error, userId }, 'a userEvents stream failed');
        inbox.close();
      });

      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        inbox.close();
        for (const chatId of [...unread.keys()]) unfollow(chatId);
        await live.return?.();
      };

      const deliver = async ({ payload, checkMember }: Queued): Promise<UserEvent | undefined> => {
        const { type } = payload;
        const chatId = payload.chat?.id ?? payload.unreadCount?.chatId;
        if (checkMember && chatId) {
          // Not a member (any more, or not yet on this instance's rbac cache): nothing is said.
          // Removed for good: stop following, in case the removal's own event never arrives.
          if (!(await rbac.can(userId, 'message:read', { scope: chatScope(chatId) }))) {
            if (!(await isActiveMember(userId, chatId))) unfollow(chatId);
            return undefined;
          }
        }
        let chat = payload.chat ?? null;
        if (chat) {
          const whole =
            (type === 'ADDED_TO_CHAT' || type === 'CHAT_UPDATED') && (await isActiveMember(userId, chat.id));
          chat = whole ? { ...chat, preview: false, fresh: true } : { ...chat, preview: true };
        }
        const invitation = payload.invitation
          ? { ...payload.invitation, chat: { ...payload.invitation.chat, preview: true } }
          : null;
        return { type, chat, invitation, unreadCount: payload.unreadCount ?? null };
      };

      async function* run(): AsyncGenerator<UserEvent> {
        for (let next = await inbox.next(); next; next = await inbox.next()) {
          if (viewer.claims.exp !== undefined && viewer.claims.exp * 1000 <= Date.now()) return;
          const event = await deliver(next);
          if (event) yield event;
        }
      }

      return { source: run(), live: { return: close } };
    },
  };
}

export type UserEventStreams = ReturnType<typeof createUserEventStreams>;

/** A queue one consumer awaits; `next()` resolves `undefined` once it is closed. */
function createQueue<T>() {
  const items: T[] = [];
  let waiting: ((item: T | undefined) => void) | undefined;
  let closed = false;
  return {
    push(item: T) {
      if (closed) return;
      if (waiting) {
        const wake = waiting;
        waiting = undefined;
        wake(item);
      } else items.push(item);
    },
    next(): Promise<T | undefined> {
      if (items.length > 0) return Promise.resolve(items.shift());
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    close() {
      closed = true;
      items.length = 0;
      waiting?.(undefined);
      waiting = undefined;
    },
  };
}
