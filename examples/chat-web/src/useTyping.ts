/**
 * The typing indicator: who else is typing in a chat (each name shown for a few seconds after
 * their last signal), and `notifyTyping()` to call on every keystroke — it tells the server at
 * most once per interval, which stays well inside the server's per-chat typing limit.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Live } from './live.ts';
import type { Session } from './session.ts';

const SHOWN_FOR_MS = 4000;
const SIGNAL_EVERY_MS = 2000;

interface TypingEvent {
  typing: { user: { id: string; username: string; displayName: string | null } };
}

export function useTyping(session: Session, live: Live, chatId: string) {
  // Name by user id, with when the name stops showing.
  const [typing, setTyping] = useState<Map<string, { name: string; until: number }>>(new Map());
  const lastSignal = useRef(0);

  useEffect(() => {
    setTyping(new Map());
    const stop = live.subscribe<TypingEvent>(
      'subscription ($c: ID!) { typing(chatId: $c) { user { id username displayName } } }',
      () => ({ c: chatId }),
      ({ typing: { user } }) => {
        if (user.id === session.current?.id) return;
        setTyping((current) =>
          new Map(current).set(user.id, {
            name: user.displayName ?? user.username,
            until: Date.now() + SHOWN_FOR_MS,
          }),
        );
      },
      () => {},
    );
    // Names fade out when their typing signals stop.
    const timer = setInterval(() => {
      setTyping((current) => {
        const now = Date.now();
        const kept = [...current].filter(([, entry]) => entry.until > now);
        return kept.length === current.size ? current : new Map(kept);
      });
    }, 500);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, [session, live, chatId]);

  const notifyTyping = useCallback(() => {
    const now = Date.now();
    if (now - lastSignal.current < SIGNAL_EVERY_MS) return;
    lastSignal.current = now;
    // A lost typing signal is not worth a message to anyone.
    void session.call('mutation ($c: ID!) { typing(chatId: $c) }', { c: chatId }).catch(() => {});
  }, [session, chatId]);

  const names = [...typing.values()].map((entry) => entry.name);
  return { typingNames: names, notifyTyping };
}

/** "Ana is typing…", "Ana and Bo are typing…", "3 people are typing…". */
export function describeTyping(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
