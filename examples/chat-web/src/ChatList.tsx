import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from './graphql.ts';
import type { Live } from './live.ts';
import { NewGroup } from './NewGroup.tsx';
import { chatName } from './names.ts';
import type { Session } from './session.ts';
import { userIdOf } from './users.ts';

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

/** Chats shown per page; the list grows by this much with "More chats". */
const PAGE = 20;
/** The server's largest page: a reload reads what is shown in pages this big. */
const MAX_PAGE = 100;

interface ChatsPage {
  chats: { edges: { node: ChatSummary }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  invitations: Invitation[];
}

const CHATS = `query ($n: Int, $after: String) {
  chats(first: $n, after: $after) {
    edges { node { id kind title unreadCount participants { user { id username displayName } } } }
    pageInfo { hasNextPage endCursor }
  }
  invitations { chat { id kind title } invitedBy { username displayName } }
}`;

export function ChatList(props: {
  session: Session;
  live: Live;
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const { session, live, selected, onSelect } = props;
  const [chats, setChats] = useState<ChatSummary[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [error, setError] = useState<string | null>(null);

  const [more, setMore] = useState<string | null>(null);
  // How many chats the person has asked to see: a reload reads that many again.
  const wanted = useRef(PAGE);

  const reload = useCallback(async () => {
    try {
      const loaded: ChatSummary[] = [];
      let after: string | null = null;
      let page: ChatsPage;
      do {
        page = await session.call<ChatsPage>(CHATS, { n: Math.min(MAX_PAGE, wanted.current - loaded.length), after });
        loaded.push(...page.chats.edges.map((edge) => edge.node));
        after = page.chats.pageInfo.endCursor;
      } while (page.chats.pageInfo.hasNextPage && loaded.length < wanted.current);
      setChats(loaded);
      setMore(page.chats.pageInfo.hasNextPage ? after : null);
      setInvitations(page.invitations);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, [session]);

  const showMore = async () => {
    if (!more) return;
    try {
      const page = await session.call<ChatsPage>(CHATS, { n: PAGE, after: more });
      wanted.current += PAGE;
      setChats((current) => {
        const known = new Set(current.map((chat) => chat.id));
        return [...current, ...page.chats.edges.map((edge) => edge.node).filter((chat) => !known.has(chat.id))];
      });
      setMore(page.chats.pageInfo.hasNextPage ? page.chats.pageInfo.endCursor : null);
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  useEffect(() => {
    // A first read for a quick first paint; the one that counts is on READY (below).
    void reload();
    // One feed per user: new chats, invitations and unread counts, without a subscription per chat.
    // Events are not replayed: the list is read again on READY, the feed's first event, sent once
    // it is live (at every (re)subscription), so no change falls between the read and the feed.
    const stopEvents = live.subscribe<{
      userEvents: { type: string; unreadCount: { chatId: string; count: number } | null };
    }>(
      'subscription { userEvents(ready: true) { type unreadCount { chatId count } } }',
      () => ({}),
      ({ userEvents: event }) => {
        if (event.type === 'UNREAD_CHANGED' && event.unreadCount) {
          const { chatId, count } = event.unreadCount;
          setChats((current) => current.map((chat) => (chat.id === chatId ? { ...chat, unreadCount: count } : chat)));
        } else void reload();
      },
      (failure) => setError(describeError(failure)),
    );
    return stopEvents;
  }, [live, reload]);

  const start = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const username = String(new FormData(form).get('with') ?? '');
    setError(null);
    try {
      const userId = await userIdOf(session, username);
      const created = await session.call<{ createChat: { id: string } }>(
        'mutation ($input: CreateChatInput!) { createChat(input: $input) { id } }',
        { input: { participantIds: [userId] } },
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
      <NewGroup
        session={session}
        onCreated={async (id) => {
          await reload();
          onSelect(id);
        }}
      />
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
              <span className="chat-name">{chatName(chat, session.current?.id)}</span>
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
      {more && (
        <button type="button" className="more" onClick={() => void showMore()}>
          More chats
        </button>
      )}
    </nav>
  );
}
