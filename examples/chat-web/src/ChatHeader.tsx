import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { describeError } from './graphql.ts';
import { chatName } from './names.ts';
import type { Session } from './session.ts';
import { userIdOf } from './users.ts';

interface ChatDetails {
  id: string;
  kind: 'DIRECT' | 'GROUP';
  title: string | null;
  participants: {
    user: { id: string; username: string; displayName: string | null };
    role: string;
    status: 'ACTIVE' | 'INVITED';
  }[];
}

const CHAT = `query ($c: ID!) { chat(id: $c) { id kind title participants { user { id username displayName } role status } } }`;

/** The open chat's name and people (as text); a group's owner and admins invite from here. */
export function ChatHeader(props: { session: Session; chatId: string; onBack: () => void }) {
  const { session, chatId, onBack } = props;
  const [chat, setChat] = useState<ChatDetails | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [invited, setInvited] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setChat((await session.call<{ chat: ChatDetails }>(CHAT, { c: chatId })).chat);
    } catch (failure) {
      setProblem(describeError(failure));
    }
  }, [session, chatId]);

  useEffect(() => {
    void load();
  }, [load]);

  const invite = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const username = String(new FormData(form).get('invite') ?? '').trim();
    setProblem(null);
    setInvited(null);
    try {
      const added = await session.call<{ addParticipant: { status: 'ACTIVE' | 'INVITED' } }>(
        'mutation ($c: ID!, $u: ID!) { addParticipant(chatId: $c, userId: $u) { status } }',
        { c: chatId, u: await userIdOf(session, username) },
      );
      form.reset();
      // People who asked for invitations (a setting) are invited; the others join at once.
      setInvited(`${username} ${added.addParticipant.status === 'INVITED' ? 'is invited' : 'was added'}.`);
      await load();
    } catch (failure) {
      setProblem(describeError(failure));
    }
  };

  if (!chat) return problem ? <p className="notice">{problem}</p> : null;
  const me = session.current?.id;
  const name = chatName(chat, me);
  const myRole = chat.participants.find((p) => p.user.id === me)?.role;
  const canInvite = chat.kind === 'GROUP' && (myRole === 'OWNER' || myRole === 'ADMIN');
  return (
    <header className="chat-header">
      {/* On a phone the open chat takes the whole screen: this leads back to the list. */}
      <button type="button" className="link back" onClick={onBack}>
        ← Chats
      </button>
      <h2>{name}</h2>
      {chat.kind === 'GROUP' && (
        <p className="people">
          {chat.participants
            .map((p) => `${p.user.displayName ?? p.user.username}${p.status === 'INVITED' ? ' (invited)' : ''}`)
            .join(', ')}
        </p>
      )}
      {canInvite && (
        <form className="invite" onSubmit={(event) => void invite(event)}>
          <label htmlFor="invite">Invite (username)</label>
          <input id="invite" name="invite" required autoComplete="off" />
          <button type="submit">Invite</button>
        </form>
      )}
      {problem && (
        <p role="alert" className="notice">
          {problem}
        </p>
      )}
      {invited && (
        <p role="status" className="ok">
          {invited}
        </p>
      )}
    </header>
  );
}
