import type { Client } from 'graphql-ws';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, describeError } from './graphql.ts';
import type { Session } from './session.ts';
import { useMessages } from './useMessages.ts';

export function ChatView({ session, live, chatId }: { session: Session; live: Client; chatId: string }) {
  const { messages, hasOlder, loadOlder, send, dismiss, error } = useMessages(session, live, chatId);
  const [notice, setNotice] = useState<string | null>(null);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  const readUpTo = useRef(0);
  const list = useRef<HTMLOListElement>(null);

  // Read receipts: up to the newest message shown while the page is visible.
  const newestSeq = messages.filter((m) => !m.pending).at(-1)?.seq ?? 0;
  useEffect(() => {
    if (newestSeq <= readUpTo.current || document.visibilityState !== 'visible') return;
    readUpTo.current = newestSeq;
    void session
      .call('mutation ($c: ID!, $s: Int) { markRead(chatId: $c, upToSeq: $s) { count } }', { c: chatId, s: newestSeq })
      .catch(() => {});
  }, [session, chatId, newestSeq]);

  // Follow the newest message as it arrives (not when older pages are loaded above).
  const newestId = messages.at(-1)?.id;
  useEffect(() => {
    if (newestId) list.current?.lastElementChild?.scrollIntoView({ block: 'end' });
  }, [newestId]);

  // The rate-limit countdown.
  useEffect(() => {
    if (retryAt === null) return;
    const timer = setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= retryAt) setRetryAt(null);
    }, 250);
    return () => clearInterval(timer);
  }, [retryAt]);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const content = String(new FormData(form).get('content') ?? '');
    if (!content.trim()) return;
    form.reset();
    setNotice(null);
    try {
      await send(content);
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === 'RATE_LIMITED' && failure.retryAfterMs !== undefined)
        setRetryAt(Date.now() + failure.retryAfterMs);
      else setNotice(describeError(failure));
    }
  };

  const waitSeconds = retryAt === null ? 0 : Math.max(1, Math.ceil((retryAt - now) / 1000));
  return (
    <main className="chat">
      {hasOlder && (
        <button type="button" className="older" onClick={() => void loadOlder()}>
          Load older messages
        </button>
      )}
      <ol ref={list} className="messages" aria-live="polite" aria-label="Messages">
        {messages.map((message) => (
          <li
            key={message.id}
            className={message.pending ? 'pending' : undefined}
            data-seq={message.pending ? undefined : message.seq}
          >
            <span className="sender">{message.sender.displayName ?? message.sender.username}</span>
            {message.deleted ? (
              <em className="deleted">message deleted</em>
            ) : (
              // The server's sanitized HTML is the only HTML rendered (its allow-list; names above are text).
              // biome-ignore lint/security/noDangerouslySetInnerHtml: content is sanitized by the server (@switchboard/validation), or escaped locally while pending
              <span className="content" dangerouslySetInnerHTML={{ __html: message.content }} />
            )}
            {message.editedAt && !message.deleted && <span className="edited"> (edited)</span>}
            {message.pending?.failed && (
              <span className="failed">
                {' '}
                not sent: {message.pending.failed}{' '}
                <button type="button" onClick={() => dismiss(message.pending?.clientId ?? '')}>
                  Dismiss
                </button>
              </span>
            )}
          </li>
        ))}
      </ol>
      {(notice !== null || error !== null) && (
        <p role="alert" className="notice">
          {notice ?? describeError(error)}
        </p>
      )}
      {retryAt !== null && (
        <p role="status" className="notice" data-testid="rate-limited">
          Too fast: try again in {waitSeconds} s.
        </p>
      )}
      <form onSubmit={(event) => void submit(event)} className="composer">
        <label htmlFor="content">Message</label>
        <textarea id="content" name="content" rows={2} maxLength={4000} required />
        <button type="submit" disabled={retryAt !== null}>
          Send
        </button>
      </form>
    </main>
  );
}
