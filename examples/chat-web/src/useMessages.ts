/**
 * The roadmap's `useMessages(chatId)`, done right: the newest page first, older pages backwards
 * (`last` / `before`) on demand, live messages through `messageAdded` resumed with `after` the
 * last cursor held (no gap, no duplicate across reconnects), edits and deletions in place, and
 * sends shown at once, reconciled with the server's copy (a retried send carries the same
 * `clientId`, so it is never doubled).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, NetworkError } from './graphql.ts';
import type { Live } from './live.ts';
import type { Session } from './session.ts';

export interface ChatMessage {
  id: string;
  seq: number;
  content: string;
  createdAt: string;
  editedAt: string | null;
  deleted: boolean;
  sender: { id: string; username: string; displayName: string | null };
  cursor: string | null;
  /** Set while our own send is on its way. */
  pending?: { clientId: string; failed?: string };
}

const FIELDS = 'id seq content createdAt editedAt deleted cursor sender { id username displayName }';
const PAGE = 30;
/** The server's largest page: the loaded window is read again in pages this big. */
const REFETCH_PAGE = 100;
const PAGE_QUERY = `query ($c: ID!, $n: Int, $b: String) { messages(chatId: $c, last: $n, before: $b) { edges { node { ${FIELDS} } cursor } pageInfo { hasPreviousPage startCursor } } }`;

interface Page {
  messages: {
    edges: { node: ChatMessage; cursor: string }[];
    pageInfo: { hasPreviousPage: boolean; startCursor: string | null };
  };
}

export function useMessages(session: Session, live: Live, chatId: string) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [hasOlder, setHasOlder] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const startCursor = useRef<string | null>(null);
  // The oldest message held, by seq: a refetch of the loaded window goes back to it.
  const oldestSeq = useRef<number | null>(null);
  // The newest message held, by seq: live messages resume after its cursor.
  const newest = useRef<{ seq: number; cursor: string } | null>(null);

  /** Merges server messages in by id, in seq order; our pending copy of one goes. */
  const merge = useCallback((incoming: ChatMessage[], replaceClientId?: string) => {
    setMessages((current) => {
      const byId = new Map(
        current.filter((m) => !m.pending || m.pending.clientId !== replaceClientId).map((m) => [m.id, m]),
      );
      for (const message of incoming) {
        const held = byId.get(message.id);
        byId.set(message.id, held ? newerOf(held, message) : message);
      }
      const settled = [...byId.values()].filter((m) => !m.pending).sort((a, b) => a.seq - b.seq);
      const pending = [...byId.values()].filter((m) => m.pending);
      return [...settled, ...pending];
    });
    for (const message of incoming) {
      if (message.cursor && (newest.current === null || message.seq > newest.current.seq))
        newest.current = { seq: message.seq, cursor: message.cursor };
      if (message.cursor && (oldestSeq.current === null || message.seq < oldestSeq.current))
        oldestSeq.current = message.seq;
    }
  }, []);

  useEffect(() => {
    let cancelled = false;
    setMessages([]);
    startCursor.current = null;
    oldestSeq.current = null;
    newest.current = null;
    // Live messages follow the first page, resumed after its newest message: the server replays
    // from there (filling in what a lagging replica left out of the page), so nothing falls
    // between the page and the feed. A page that came back empty has no cursor to resume from:
    // then a live message numbered past what is held reveals the hole, and the window is read
    // again until the hole is filled (replicas catch up; sequence numbers have no gaps).
    let stopAdded = () => {};
    const healHole = async (upToSeq: number) => {
      for (let attempt = 0; attempt < 10 && !cancelled; attempt++) {
        merge(await refetchWindow(session, chatId, oldestSeq.current));
        if (oldestSeq.current !== null && oldestSeq.current < upToSeq) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    session.call<Page>(PAGE_QUERY, { c: chatId, n: PAGE, b: null }).then((page) => {
      if (cancelled) return;
      startCursor.current = page.messages.pageInfo.startCursor;
      setHasOlder(page.messages.pageInfo.hasPreviousPage);
      merge(page.messages.edges.map((edge) => ({ ...edge.node, cursor: edge.cursor })));
      stopAdded = live.subscribe<{ messageAdded: ChatMessage }>(
        `subscription ($c: ID!, $after: String) { messageAdded(chatId: $c, after: $after) { ${FIELDS} } }`,
        () => ({ c: chatId, after: newest.current?.cursor ?? null }),
        (data) => {
          const hole = newest.current === null && data.messageAdded.seq > 1;
          merge([data.messageAdded]);
          if (hole) void healHole(data.messageAdded.seq).catch(setError);
        },
        setError,
      );
    }, setError);
    const stopUpdated = live.subscribe<{ messageUpdated: ChatMessage }>(
      `subscription ($c: ID!) { messageUpdated(chatId: $c) { ${FIELDS} } }`,
      () => ({ c: chatId }),
      (data) =>
        setMessages((current) =>
          current.map((m) =>
            m.id === data.messageUpdated.id ? newerOf(m, { ...data.messageUpdated, cursor: m.cursor }) : m,
          ),
        ),
      setError,
    );
    // Edits and deletions made while the socket was down were never pushed: read the loaded
    // window again (newest first, back to the oldest message held) and merge it in by id.
    const stopRefetch = live.onReconnected(() => {
      void refetchWindow(session, chatId, oldestSeq.current).then((fresh) => {
        if (!cancelled) merge(fresh);
      }, setError);
    });
    return () => {
      cancelled = true;
      stopAdded();
      stopUpdated();
      stopRefetch();
    };
  }, [session, live, chatId, merge]);

  const loadingOlder = useRef(false);
  const loadOlder = useCallback(async () => {
    // One page at a time: a second click while one loads would ask for the same page again.
    if (!startCursor.current || loadingOlder.current) return;
    loadingOlder.current = true;
    try {
      const page = await session.call<Page>(PAGE_QUERY, { c: chatId, n: PAGE, b: startCursor.current });
      startCursor.current = page.messages.pageInfo.startCursor;
      setHasOlder(page.messages.pageInfo.hasPreviousPage);
      merge(page.messages.edges.map((edge) => ({ ...edge.node, cursor: edge.cursor })));
    } finally {
      loadingOlder.current = false;
    }
  }, [session, chatId, merge]);

  const send = useCallback(
    async (content: string) => {
      const clientId = crypto.randomUUID();
      const me = session.current;
      const optimistic: ChatMessage = {
        id: `pending:${clientId}`,
        seq: Number.MAX_SAFE_INTEGER,
        content: escapeText(content),
        createdAt: new Date().toISOString(),
        editedAt: null,
        deleted: false,
        sender: { id: me?.id ?? '', username: me?.username ?? '', displayName: me?.displayName ?? null },
        cursor: null,
        pending: { clientId },
      };
      setMessages((current) => [...current, optimistic]);
      const mutation = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { ${FIELDS} } }`;
      for (let attempt = 0; ; attempt++) {
        try {
          const data = await session.call<{ sendMessage: ChatMessage }>(mutation, {
            input: { chatId, content, clientId },
          });
          merge([data.sendMessage], clientId);
          return;
        } catch (failure) {
          // A lost answer: the same clientId again returns the message instead of sending it twice.
          if (failure instanceof NetworkError && attempt < 5) {
            await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
            continue;
          }
          setMessages((current) =>
            current.map((m) =>
              m.pending?.clientId === clientId ? { ...m, pending: { clientId, failed: reasonOf(failure) } } : m,
            ),
          );
          throw failure;
        }
      }
    },
    [session, chatId, merge],
  );

  /** Edits one of your messages; the server's sanitized copy replaces it (others get it live). */
  const edit = useCallback(
    async (id: string, content: string) => {
      const data = await session.call<{ editMessage: ChatMessage }>(
        `mutation ($id: ID!, $content: String!) { editMessage(id: $id, content: $content) { ${FIELDS} } }`,
        { id, content },
      );
      merge([data.editMessage]);
    },
    [session, merge],
  );

  /** Deletes one of your messages: it stays in place as "message deleted", for everyone. */
  const remove = useCallback(
    async (id: string) => {
      await session.call('mutation ($id: ID!) { deleteMessage(id: $id) }', { id });
      setMessages((current) => current.map((m) => (m.id === id ? { ...m, deleted: true, content: '' } : m)));
    },
    [session],
  );

  const dismiss = useCallback((clientId: string) => {
    setMessages((current) => current.filter((m) => m.pending?.clientId !== clientId));
  }, []);

  return { messages, hasOlder, loadOlder, send, edit, remove, dismiss, error };
}

/** Every message from the newest back to `oldestSeq` (the window the page holds), as the server has them now. */
async function refetchWindow(session: Session, chatId: string, oldestSeq: number | null): Promise<ChatMessage[]> {
  const fresh: ChatMessage[] = [];
  let before: string | null = null;
  for (;;) {
    const page: Page = await session.call<Page>(PAGE_QUERY, { c: chatId, n: REFETCH_PAGE, b: before });
    fresh.push(...page.messages.edges.map((edge) => ({ ...edge.node, cursor: edge.cursor })));
    const reachedOldest = oldestSeq === null || fresh.some((m) => m.seq <= oldestSeq);
    if (reachedOldest || !page.messages.pageInfo.hasPreviousPage) return fresh;
    before = page.messages.pageInfo.startCursor;
  }
}

/**
 * Of two copies of one message, the later state: a deletion is final, else the later edit. A
 * refetch may read a replica that is behind what messageUpdated already delivered.
 */
function newerOf(held: ChatMessage, incoming: ChatMessage): ChatMessage {
  if (held.deleted && !incoming.deleted) return held;
  if (!incoming.deleted && (held.editedAt ?? '') > (incoming.editedAt ?? '')) return held;
  return { ...incoming, cursor: incoming.cursor ?? held.cursor };
}

function reasonOf(failure: unknown): string {
  return failure instanceof ApiError || failure instanceof Error ? failure.message : 'not sent';
}

/** Our own text shown before the server's sanitized copy arrives: as text, never as HTML. */
function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
