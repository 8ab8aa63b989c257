import type { Principal, SessionInfo, SessionMeta } from '@switchboard/auth';
import { setLogContext } from '@switchboard/logging';
import type { Chat, Chats } from '../chat/chats.ts';
import type { ConsentService } from '../chat/consent.ts';
import { AppError, notFound } from '../chat/errors.ts';
import type { Invitations } from '../chat/invitations.ts';
import type { Message, Messages } from '../chat/messages.ts';
import type { ChatRole } from '../chat/roles.ts';
import type { Subscriptions } from '../chat/subscriptions.ts';
import type { Invitation, UserEvent } from '../chat/user-events.ts';
import type { User, Users } from '../chat/users.ts';

/** What the server's context factory adds to each request. */
export interface RequestFacts {
  /** The client's address, for per-IP limits and session records. */
  ip: string;
  userAgent: string | undefined;
}

/** What every resolver gets: the request facts and the caller (from @switchboard/auth's plugin). */
export interface ChatContext extends RequestFacts {
  principal: Principal | null;
}

/** The caller's own sessions (see app.ts): listed, and signed out one by one or all together. */
export interface SessionControl {
  list(userId: string): Promise<SessionInfo[]>;
  /** False when `sessionId` is not a live session of `userId`. */
  revoke(userId: string, sessionId: string): Promise<boolean>;
  revokeAll(userId: string): Promise<void>;
}

export interface Services {
  users: Users;
  sessions: SessionControl;
  chats: Chats;
  messages: Messages;
  subscriptions: Subscriptions;
  consent: ConsentService;
  invitations: Invitations;
}

const principalOf = (context: ChatContext): Principal => {
  if (!context.principal) throw new AppError('UNAUTHENTICATED', 'sign in first');
  return context.principal;
};
const userIdOf = (context: ChatContext): string => principalOf(context).userId;

const sessionMeta = (context: ChatContext): SessionMeta => ({
  ip: context.ip,
  ...(context.userAgent ? { userAgent: context.userAgent } : {}),
});

const roleIn = (role: string) => role.toLowerCase() as ChatRole;
const roleOut = (role: string) => role.toUpperCase();

type Args = Record<string, unknown>;

/** Resolvers only translate: GraphQL arguments in, service calls, GraphQL shapes out. */
export function createResolvers(services: Services) {
  const { users, sessions, chats, messages, subscriptions, consent, invitations } = services;
  // Resolves a user field once per distinct id within one request.
  const userLoader = (context: ChatContext & { users?: Map<string, Promise<User>> }, id: string) => {
    context.users ??= new Map();
    let user = context.users.get(id);
    if (!user) {
      user = users.get(id, context.principal?.userId);
      context.users.set(id, user);
    }
    return user;
  };

  return {
    Query: {
      health: () => 'ok',
      me: (_: unknown, __: Args, context: ChatContext) => {
        const userId = userIdOf(context);
        return users.get(userId, userId);
      },
      userByUsername: (_: unknown, args: Args, context: ChatContext) =>
        users.byUsername(args.username, userIdOf(context)),
      chat: (_: unknown, args: Args, context: ChatContext) => chats.get(userIdOf(context), args.id),
      chatAuditLog: (_: unknown, args: Args, context: ChatContext) =>
        chats.auditLog(userIdOf(context), args.chatId, { first: args.first, after: args.after }),
      chats: (_: unknown, args: Args, context: ChatContext) => chats.list(userIdOf(context), args),
      messages: (_: unknown, args: Args, context: ChatContext) => {
        const { chatId, ...page } = args;
        return messages.list(userIdOf(context), chatId, page);
      },
      unreadCounts: (_: unknown, __: Args, context: ChatContext) => messages.unreadCounts(userIdOf(context)),
      blockedUsers: (_: unknown, __: Args, context: ChatContext) => consent.blocked(userIdOf(context)),
      invitations: (_: unknown, __: Args, context: ChatContext) => invitations.list(userIdOf(context)),
      settings: (_: unknown, __: Args, context: ChatContext) => consent.settings(userIdOf(context)),
      sessions: async (_: unknown, __: Args, context: ChatContext) => {
        const { userId, sessionId } = principalOf(context);
        return (await sessions.list(userId)).map((session) => ({
          id: session.id,
          createdAt: session.createdAt.toISOString(),
          lastUsedAt: session.lastUsedAt.toISOString(),
          expiresAt: session.expiresAt.toISOString(),
          userAgent: session.userAgent ?? null,
          ip: session.ip ?? null,
          current: session.id === sessionId,
        }));
      },
    },

    Mutation: {
      register: (_: unknown, args: Args, context: ChatContext) =>
        signedIn(users.register(args.input, sessionMeta(context))),
      login: (_: unknown, args: Args, context: ChatContext) => signedIn(users.login(args.input, sessionMeta(context))),
      refreshToken: (_: unknown, args: { refreshToken: string }, context: ChatContext) =>
        users.refresh(args.refreshToken, sessionMeta(context)),
      logout: async (_: unknown, args: { refreshToken: string }) => {
        await users.logout(args.refreshToken);
        return true;
      },
      revokeSession: async (_: unknown, args: { id: string }, context: ChatContext) => {
        if (!(await sessions.revoke(userIdOf(context), args.id))) throw notFound('session');
        return true;
      },
      revokeAllSessions: async (_: unknown, __: Args, context: ChatContext) => {
        await sessions.revokeAll(userIdOf(context));
        return true;
      },
      createChat: (_: unknown, args: Args, context: ChatContext) => chats.create(userIdOf(context), args.input),
      addParticipant: (_: unknown, args: Args, context: ChatContext) =>
        chats.addParticipant(userIdOf(context), args.chatId, args.userId, roleIn(String(args.role ?? 'MEMBER'))),
      removeParticipant: (_: unknown, args: Args, context: ChatContext) =>
        chats.removeParticipant(userIdOf(context), args.chatId, args.userId),
      sendMessage: (_: unknown, args: Args, context: ChatContext) => messages.send(userIdOf(context), args.input),
      editMessage: (_: unknown, args: Args, context: ChatContext) =>
        messages.edit(userIdOf(context), { id: args.id, content: args.content }),
      deleteMessage: (_: unknown, args: Args, context: ChatContext) => messages.delete(userIdOf(context), args.id),
      markRead: (_: unknown, args: Args, context: ChatContext) =>
        messages.markRead(userIdOf(context), args.chatId, args.upToSeq),
      deleteChat: (_: unknown, args: Args, context: ChatContext) => chats.delete(userIdOf(context), args.id),
      typing: (_: unknown, args: Args, context: ChatContext) =>
        subscriptions.publishTyping(userIdOf(context), args.chatId),
      blockUser: (_: unknown, args: Args, context: ChatContext) => consent.block(userIdOf(context), args.userId),
      unblockUser: (_: unknown, args: Args, context: ChatContext) => consent.unblock(userIdOf(context), args.userId),
      updateSettings: (_: unknown, args: Args, context: ChatContext) =>
        consent.updateSettings(userIdOf(context), args.input),
      acceptInvitation: (_: unknown, args: Args, context: ChatContext) =>
        invitations.accept(userIdOf(context), args.chatId),
      declineInvitation: (_: unknown, args: Args, context: ChatContext) =>
        invitations.decline(userIdOf(context), args.chatId),
    },

    Subscription: {
      messageAdded: {
        subscribe: (_: unknown, args: Args, context: ChatContext) =>
          subscriptions.messageAdded(principalOf(context), args.chatId, args.after as string | null | undefined),
        resolve: (message: Message) => message,
      },
      messageUpdated: {
        subscribe: (_: unknown, args: Args, context: ChatContext) =>
          subscriptions.messageUpdated(principalOf(context), args.chatId),
        resolve: (message: Message) => message,
      },
      typing: {
        subscribe: (_: unknown, args: Args, context: ChatContext) =>
          subscriptions.typing(principalOf(context), args.chatId),
        resolve: (event: unknown) => event,
      },
      userEvents: {
        subscribe: (_: unknown, args: Args, context: ChatContext) =>
          subscriptions.userEvents(principalOf(context), args.ready === true),
        resolve: (event: UserEvent) => event,
      },
    },

    Chat: {
      kind: (chat: { kind: string }) => chat.kind.toUpperCase(),
      owner: (chat: { ownerId: string }, _: Args, context: ChatContext) => userLoader(context, chat.ownerId),
      // A preview (an invitation, a chat left) shows neither who is in it nor what is unread.
      participants: (chat: Chat) => (chat.preview ? [] : chats.participants(chat.id, chat.fresh === true)),
      unreadCount: (chat: Chat, _: Args, context: ChatContext) =>
        chat.preview ? 0 : chats.unreadCount(userIdOf(context), chat.id),
    },
    Participant: {
      user: (participant: { userId: string }, _: Args, context: ChatContext) => userLoader(context, participant.userId),
      role: (participant: { role: string }) => roleOut(participant.role),
      // Lists cached before invitations existed have no status: they held members only.
      status: (participant: { status?: string }) => (participant.status ?? 'active').toUpperCase(),
    },
    Invitation: {
      invitedBy: (invitation: Invitation, _: Args, context: ChatContext) => userLoader(context, invitation.invitedById),
      role: (invitation: Invitation) => roleOut(invitation.role),
    },
    Message: {
      sender: (message: Message, _: Args, context: ChatContext) => userLoader(context, message.senderId),
      editedBy: (message: Message, _: Args, context: ChatContext) =>
        message.editedById ? userLoader(context, message.editedById) : null,
    },
    TypingEvent: {
      user: (event: { userId: string }, _: Args, context: ChatContext) => userLoader(context, event.userId),
    },
  };
}

/**
 * A register or login: the operation had no user until now; its own log line (and any later one)
 * says who signed in (`user.id`), as every authenticated operation's does.
 */
async function signedIn<T extends { user: { id: string } }>(result: Promise<T>): Promise<T> {
  const done = await result;
  setLogContext({ userId: done.user.id });
  return done;
}
