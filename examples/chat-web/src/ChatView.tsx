import { type FormEvent, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ChatHeader } from './ChatHeader.tsx';
import { ApiError, describeError } from './graphql.ts';
import type { Live } from './live.ts';
import { MessageItem } from './MessageItem.tsx';
import type { Session } from './session.ts';
import { useMessages } from './useMessages.ts';
import { describeTyping, useTyping } from './useTyping.ts';

export function ChatView(props: { session: Session; live: Live; chatId: string; onBack: () => void }) {
  const { session, live, chatId, onBack } = props;
  const { messages, hasOlder, loadOlder, send, edit, remove, dismiss, error } = useMessages(session, live, chatId);
  const { typingNames, notifyTyping } = useTyping(session, live, chatId);
  const [notice, setNotice] = useState<string | null>(null);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  const readUpTo = useRef(0);

  // Read receipts: up to the newest message shown while the page is visible.
  const newestSeq = messages.filter((m) => !m.pending).at(-1)?.seq ?? 0;
  useEffect(() => {
    if (newestSeq <= readUpTo.current || document.visibilityState !== 'visible') return;
    readUpTo.current = newestSeq;
    void session
      .call('mutation ($c: ID!, $s: Int) { markRead(chatId: $c, upToSeq: $s) { count } }', { c: chatId, s: newestSeq })
      .catch(() => {});
  }, [session, chatId, newestSeq]);

  // Follow the newest message as it arrives; when older pages come in above, keep what the
  // reader was looking at where it was (the list grew by their height).
  const scroller = useRef<HTMLDivElement>(null);
  const newestId = messages.at(-1)?.id;
  const oldestId = messages[0]?.id;
  const seen = useRef<{ newestId: string | undefined; oldestId: string | undefined; height: number }>({
    newestId: undefined,
    oldestId: undefined,
    height: 0,
  });
  useLayoutEffect(() => {
    const box = scroller.current;
    if (!box) return;
    const before = seen.current;
    if (newestId !== before.newestId) box.scrollTop = box.scrollHeight;
    else if (oldestId !== before.oldestId) box.scrollTop += box.scrollHeight - before.height;
    seen.current = { newestId, oldestId, height: box.scrollHeight };
  }, [newestId, oldestId]);

  // Older pages load as the reader scrolls up to the top (the button stays, for keyboards).
  const observeOlder = useCallback(
    (button: HTMLButtonElement | null) => {
      if (!button) return;
      const observer = new IntersectionObserver(
        (entries) => {
          if (entries.some((entry) => entry.isIntersecting)) void loadOlder();
        },
        { root: button.parentElement, rootMargin: '200px 0px 0px 0px' },
      );
      observer.observe(button);
      return () => observer.disconnect();
    },
    [loadOlder],
  );

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
      <ChatHeader session={session} chatId={chatId} onBack={onBack} />
      <div ref={scroller} className="scroller">
        {hasOlder && (
          <button ref={observeOlder} type="button" className="older" onClick={() => void loadOlder()}>
            Load older messages
          </button>
        )}
        <ol className="messages" aria-live="polite" aria-label="Messages">
          {messages.map((message) => (
            <MessageItem
              key={message.id}
              message={message}
              mine={message.sender.id === session.current?.id}
              onEdit={edit}
              onDelete={remove}
              onDismiss={dismiss}
            />
          ))}
        </ol>
      </div>
      <p className="typing" aria-live="polite">
        {describeTyping(typingNames)}
      </p>
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
        <textarea
          id="content"
          name="content"
          rows={2}
          maxLength={4000}
          required
          onInput={notifyTyping}
          onKeyDown={(event) => {
            // Enter sends, Shift+Enter starts a new line.
            if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
              event.preventDefault();
              if (retryAt === null) event.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <button type="submit" disabled={retryAt !== null}>
          Send
        </button>
      </form>
    </main>
  );
}
