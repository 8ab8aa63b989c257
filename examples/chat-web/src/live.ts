/** One graphql-ws connection per signed-in tab, authenticated with a fresh token at each (re)connect. */
import { type Client, createClient } from 'graphql-ws';
import { useEffect, useState } from 'react';
import type { Session } from './session.ts';

export function createLiveClient(session: Session): Client {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  return createClient({
    url,
    lazy: true,
    connectionParams: async () => ({ authorization: `Bearer ${await session.token()}` }),
    // Network loss, a server restart: keep trying, with graphql-ws's randomized backoff.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
  });
}

/**
 * Subscribes with variables read at each (re)connection: graphql-ws keeps the operation and
 * sends it again on every reconnect, serializing its payload then, so a getter makes it carry
 * what `variables()` says at that moment (e.g. `after` = the last cursor held): nothing sent
 * meanwhile is missed and nothing already shown is sent again. The retrying (with backoff) stays
 * graphql-ws's.
 */
export function subscribeResuming<T>(
  client: Client,
  query: string,
  variables: () => Record<string, unknown>,
  onData: (data: T) => void,
  onError: (error: unknown) => void,
): () => void {
  const payload = {
    query,
    get variables() {
      return variables();
    },
  };
  return client.subscribe<T>(payload, {
    next: (result) => {
      if (result.data) onData(result.data as T);
      else if (result.errors?.[0]) onError(result.errors[0]);
    },
    error: onError,
    complete: () => {},
  });
}

/**
 * Calls `reconnected` each time the socket is connected again after having closed (not on the
 * first connection): what happened meanwhile was not pushed, so the caller reads it again.
 */
export function onReconnected(client: Client, reconnected: () => void): () => void {
  let lost = false;
  const offClosed = client.on('closed', () => {
    lost = true;
  });
  const offConnected = client.on('connected', () => {
    if (!lost) return;
    lost = false;
    reconnected();
  });
  return () => {
    offClosed();
    offConnected();
  };
}

/** True from the moment the socket closes unasked until it is connected again. */
export function useConnectionLost(client: Client | null): boolean {
  const [lost, setLost] = useState(false);
  useEffect(() => {
    if (!client) return;
    const offClosed = client.on('closed', (event) => {
      // 1000: closed on purpose (sign-out, dispose); anything else is a loss being retried.
      if ((event as { code?: number }).code !== 1000) setLost(true);
    });
    const offConnected = client.on('connected', () => setLost(false));
    return () => {
      offClosed();
      offConnected();
      setLost(false);
    };
  }, [client]);
  return lost;
}
