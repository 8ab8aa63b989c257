/** One graphql-ws connection per signed-in tab, authenticated with a fresh token at each (re)connect. */
import { type Client, createClient } from 'graphql-ws';
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
 * Subscribes with variables read at each (re)connection: on reconnect the operation is sent
 * again with what `variables()` says then (e.g. `after` = the last cursor held), so nothing sent
 * meanwhile is missed and nothing already shown is sent again.
 */
export function subscribeResuming<T>(
  client: Client,
  query: string,
  variables: () => Record<string, unknown>,
  onData: (data: T) => void,
  onError: (error: unknown) => void,
): () => void {
  let stop: (() => void) | null = null;
  let done = false;
  const start = () => {
    stop?.();
    stop = client.subscribe<T>(
      { query, variables: variables() },
      {
        next: (result) => {
          if (result.data) onData(result.data as T);
          else if (result.errors?.[0]) onError(result.errors[0]);
        },
        error: onError,
        complete: () => {},
      },
    );
  };
  // graphql-ws resends an active operation as it was; stop it when the socket closes and start
  // it afresh once connected again, with the variables of that moment.
  const offClosed = client.on('closed', () => {
    stop?.();
    stop = null;
  });
  const offConnected = client.on('connected', () => {
    if (!done && stop === null) start();
  });
  start();
  return () => {
    done = true;
    offClosed();
    offConnected();
    stop?.();
  };
}
