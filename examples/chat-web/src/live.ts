/**
 * The tab's one live connection (graphql-ws), for the signed-in user:
 *
 * - every (re)connect authenticates with a fresh access token, and the socket is renewed when
 *   that token is due for refresh, before it expires (the server ends a socket's subscriptions
 *   when the token they were opened with expires);
 * - subscriptions resume after a reconnect with variables read at that moment (`after` = the last
 *   cursor held), through graphql-ws's own retrying (randomized backoff);
 * - a subscription the server ends (the session revoked, the token expired) makes the session
 *   check itself: a refused refresh shows "session expired"; otherwise the socket is renewed and
 *   the subscription starts again.
 */
import { type Client, createClient } from 'graphql-ws';
import { useEffect, useState } from 'react';
import type { Session } from './session.ts';

/** A loss shorter than this (a planned renewal, a blip) is not worth a notice. */
const NOTICE_AFTER_MS = 1500;

export class Live {
  readonly client: Client;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  // Counts connections: a renewal asked for by several ended subscriptions happens once.
  private connections = 0;

  constructor(private readonly session: Session) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
    // When the token the socket was opened with is due for renewal: the socket is renewed then.
    let renewAt = 0;
    this.client = createClient({
      url,
      lazy: true,
      connectionParams: async () => {
        const token = await session.token();
        renewAt = session.tokenRenewAt;
        return { authorization: `Bearer ${token}` };
      },
      // Network loss, a server restart: keep trying, with graphql-ws's randomized backoff.
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
    });
    this.client.on('connected', () => {
      this.connections++;
      clearTimeout(this.renewTimer);
      const renewIn = Math.max(1000, renewAt - Date.now() + 50);
      this.renewTimer = setTimeout(() => this.client.terminate(), renewIn);
    });
  }

  dispose(): void {
    clearTimeout(this.renewTimer);
    void this.client.dispose();
  }

  /**
   * Subscribes with variables read at each (re)connection: graphql-ws keeps the operation and
   * sends it again on every reconnect, serializing its payload then, so a getter makes it carry
   * what `variables()` says at that moment: nothing sent meanwhile is missed and nothing already
   * shown is sent again.
   */
  subscribe<T>(
    query: string,
    variables: () => Record<string, unknown>,
    onData: (data: T) => void,
    onError: (error: unknown) => void,
  ): () => void {
    let stopped = false;
    let stop = () => {};
    const payload = {
      query,
      get variables() {
        return variables();
      },
    };
    const start = () => {
      stop = this.client.subscribe<T>(payload, {
        next: (result) => {
          if (result.data) onData(result.data as T);
          else if (result.errors?.[0]) ended(result.errors[0]);
        },
        error: ended,
        // Never asked for by us while running: the server ended it.
        complete: () => ended(null),
      });
    };
    const ended = (error: unknown) => {
      if (stopped) return;
      if (error !== null && codeOf(error) !== 'UNAUTHENTICATED') {
        onError(error);
        return;
      }
      const seen = this.connections;
      // A refused refresh ends the session here (the page shows "session expired").
      this.session.renew().then(
        () => {
          if (stopped) return;
          if (this.connections === seen) this.client.terminate();
          start();
        },
        () => {},
      );
    };
    start();
    return () => {
      stopped = true;
      stop();
    };
  }

  /**
   * Calls `reconnected` each time the socket is connected again after having closed (not on the
   * first connection): what happened meanwhile was not pushed, so the caller reads it again.
   */
  onReconnected(reconnected: () => void): () => void {
    let lost = false;
    const offClosed = this.client.on('closed', () => {
      lost = true;
    });
    const offConnected = this.client.on('connected', () => {
      if (!lost) return;
      lost = false;
      reconnected();
    });
    return () => {
      offClosed();
      offConnected();
    };
  }
}

function codeOf(error: unknown): string | undefined {
  return (error as { extensions?: { code?: string } } | null)?.extensions?.code;
}

/** True while the socket has been down for more than a moment, until it is connected again. */
export function useConnectionLost(live: Live | null): boolean {
  const [lost, setLost] = useState(false);
  useEffect(() => {
    if (!live) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const offClosed = live.client.on('closed', (event) => {
      // 1000: closed on purpose (sign-out, dispose); anything else is a loss being retried.
      if ((event as { code?: number }).code === 1000) return;
      clearTimeout(timer);
      timer = setTimeout(() => setLost(true), NOTICE_AFTER_MS);
    });
    const offConnected = live.client.on('connected', () => {
      clearTimeout(timer);
      setLost(false);
    });
    return () => {
      clearTimeout(timer);
      offClosed();
      offConnected();
      setLost(false);
    };
  }, [live]);
  return lost;
}
