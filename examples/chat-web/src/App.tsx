import { useEffect, useMemo, useState } from 'react';
import { AuthForm } from './AuthForm.tsx';
import { ChatList } from './ChatList.tsx';
import { ChatView } from './ChatView.tsx';
import { Live, useConnectionLost } from './live.ts';
import { Session, type User } from './session.ts';

export function App() {
  const session = useMemo(() => new Session(), []);
  const [user, setUser] = useState<User | null>(null);
  const [expired, setExpired] = useState(false);
  const [resuming, setResuming] = useState(true);
  const [chatId, setChatId] = useState<string | null>(null);

  useEffect(() => {
    const off = session.subscribe((state) => {
      setUser(state.user);
      setExpired(state.expired);
    });
    void session.resume().finally(() => setResuming(false));
    return off;
  }, [session]);

  // One WebSocket per signed-in user, closed when they sign out.
  const userId = user?.id ?? null;
  const live = useMemo(() => (userId ? new Live(session) : null), [session, userId]);
  useEffect(() => () => live?.dispose(), [live]);
  const connectionLost = useConnectionLost(live);

  if (resuming) return <p className="status">Loading…</p>;
  if (!user || !live)
    return (
      <main className="auth">
        {expired && (
          <p role="alert" className="notice">
            Your session has expired. Please sign in again.
          </p>
        )}
        <AuthForm session={session} />
      </main>
    );
  return (
    <div className={chatId ? 'layout has-chat' : 'layout'}>
      <header className="bar">
        <span>
          Signed in as <strong>{user.displayName ?? user.username}</strong>
        </span>
        <button type="button" onClick={() => void session.logout()}>
          Log out
        </button>
      </header>
      {connectionLost && (
        <p role="status" className="notice connection" data-testid="connection-lost">
          Connection lost. Reconnecting…
        </p>
      )}
      <ChatList session={session} live={live} selected={chatId} onSelect={setChatId} />
      {chatId ? (
        <ChatView key={chatId} session={session} live={live} chatId={chatId} onBack={() => setChatId(null)} />
      ) : (
        <main className="empty">Pick a chat, or start one.</main>
      )}
    </div>
  );
}
