import type { Client } from 'graphql-ws';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { describeError } from './graphql.ts';
import { onReconnected, subscribeResuming } from './live.ts';
import type { Session } from './session.ts';

interface ChatSummary {
  id: string;
  kind: string;
  title: string | null;
  unreadCount: number;
  participants: { user: { id: string; username: string; displayName: string | null } }[];
}

interface Invitation {
  chat: { id: string; kind: string; title: string | null };
  invitedBy: { username: string; displayName: string | null };
}

const CHATS = `query {
  chats(first: 50) { edges { node { id kind title unreadCount participants { user { id username displayName } } } } }
  invitations { chat { id kind title } invitedBy { username displayName } }
}`;

/** A chat's name as text: its title, else the other participants' names. */
function nameOf(chat: ChatSummary, myId: string | undefined): string {
  if (chat.title) return chat.title;
  const others = chat.participants.filter((p) => p.user.id !== myId).map((p) => p.user.displayName ?? p.user.username);
  return others.join(', ') || 'Just you';
}

export function ChatList(props: {
  session: Session;
  live: Client;
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const { session, live, selected, onSelect } = props;
  const [chats, setChats] = useState<ChatSummary[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const data = await session.call<{ chats: { edges: { node: ChatSummary }[] }; invitations: Invitation[] }>(CHATS);
      setChats(data.chats.edges.map((edge) => edge.node));
      setInvitations(data.invitations);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, [session]);

  useEffect(() => {
    void reload();
    // One feed per user: new chats, invitations and unread counts, without a subscription per chat.
    const stopEvents = subscribeResuming<{
      userEvents: { type: string; unreadCount: { chatId: string; count: number } | null };
    }>(
      live,
      'subscription { userEvents { type unreadCount { chatId count } } }',
      () => ({}),
      ({ userEvents: event }) => {
        if (event.type === 'UNREAD_CHANGED' && event.unreadCount) {
          const { chatId, count } = event.unreadCount;
          setChats((current) => current.map((chat) => (chat.id === chatId ? { ...chat, unreadCount: count } : chat)));
        } else void reload();
      },
      (failure) => setError(describeError(failure)),
    );
    // userEvents are not replayed: what happened while the socket was down is read again.
    const stopReload = onReconnected(live, () => void reload());
    return () => {
      stopEvents();
      stopReload();
    };
  }, [live, reload]);

  const start = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const username = String(new FormData(form).get('with') ?? '');
    setError(null);
    try {
      const found = await session.call<{ userByUsername: { id: string } | null }>(
        'query ($u: String!) { userByUsername(username: $u) { id } }',
        { u: username },
      );
      if (!found.userByUsername) {
        setError(`No user named ${username}.`);
        return;
      }
      const created = await session.call<{ createChat: { id: string } }>(
        'mutation ($input: CreateChatInput!) { createChat(input: $input) { id } }',
        { input: { participantIds: [found.userByUsername.id] } },
      );
      form.reset();
      await reload();
      onSelect(created.createChat.id);
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  const answer = async (chatId: string, accept: boolean) => {
    setError(null);
    try {
      if (accept) await session.call('mutation ($c: ID!) { acceptInvitation(chatId: $c) { id } }', { c: chatId });
      else await session.call('mutation ($c: ID!) { declineInvitation(chatId: $c) }', { c: chatId });
      await reload();
      if (accept) onSelect(chatId);
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  return (
    <nav className="chats" aria-label="Chats">
      <form onSubmit={(event) => void start(event)} className="new-chat">
        <label htmlFor="with">Chat with (username)</label>
        <input id="with" name="with" required autoComplete="off" />
        <button type="submit">Start chat</button>
      </form>
      {error && (
        <p role="alert" className="notice">
          {error}
        </p>
      )}
      {invitations.length > 0 && (
        <section aria-label="Invitations" className="invitations">
          <h2>Invitations</h2>
          <ul>
            {invitations.map((invitation) => (
              <li key={invitation.chat.id}>
                <span>
                  {invitation.invitedBy.displayName ?? invitation.invitedBy.username}
                  {invitation.chat.title ? ` invites you to ${invitation.chat.title}` : ' wants to chat with you'}
                </span>
                <button type="button" onClick={() => void answer(invitation.chat.id, true)}>
                  Accept
                </button>
                <button type="button" className="link" onClick={() => void answer(invitation.chat.id, false)}>
                  Decline
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <ul>
        {chats.map((chat) => (
          <li key={chat.id}>
            <button
              type="button"
              aria-current={chat.id === selected ? 'true' : undefined}
              onClick={() => onSelect(chat.id)}
            >
              <span className="chat-name">{nameOf(chat, session.current?.id)}</span>
              {chat.unreadCount > 0 && (
                <span className="badge" data-testid="unread">
                  {chat.unreadCount}
                  <span className="sr-only"> unread</span>
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
