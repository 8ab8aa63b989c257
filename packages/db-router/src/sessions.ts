import { TurnBatches } from '@switchboard/hot-path';
import type { DbRouter } from './router.ts';
import { decodeCausalToken, newerCausalToken } from './token.ts';
import type { CausalTokenStore, DbReader, ReadOptions } from './types.ts';

/** Options of `createCausalSessions`. */
export interface CausalSessionsOptions {
  /** The router whose primary tokens are captured from and whose replicas serve the reads. */
  router: Pick<DbRouter, 'captureToken' | 'read'>;
  /** Where the latest token per user lives: `createMemoryTokenStore()` or `createRedisTokenStore()`. */
  store: CausalTokenStore;
  /**
   * Called when the store fails. The session never fails a request for it: a read whose token
   * cannot be looked up goes to the primary (fresh), and `afterWrite` still returns the token.
   * @default console.warn
   */
  onStoreError?: (error: unknown, details: { operation: 'get' | 'advance'; userId: string }) => void;
}

/** Read-your-writes per user, with no thought from the application. */
export interface CausalSessions {
  /**
   * Call after the user's write has committed (also a transaction on `router.primary`): captures
   * a token and stores it for the user, unless a newer one is stored. Returns the token, to send
   * back in a header or cookie if you want. Never rejects because of the store.
   */
  afterWrite(userId: string): Promise<string>;
  /**
   * A reader for this user: every query looks up the user's latest token (queries started in the
   * same event-loop turn share one look-up) and reads at least that fresh. `options.token` (e.g.
   * from a request header) is also honoured: the newer one wins.
   */
  readerFor(userId: string, options?: { token?: string | null | undefined }): DbReader;
  /** The user's latest stored token, e.g. to return it in a header. `undefined` when none. */
  tokenFor(userId: string): Promise<string | undefined>;
  /**
   * Stores a token that came from outside (header, cookie) for the user if it is newer. Returns
   * false, storing nothing, when it is not a valid token.
   */
  remember(userId: string, token: string | null | undefined): Promise<boolean>;
}

/**
 * Remembers the latest causal token per user, so that a user always sees their own writes,
 * on any instance, while everyone else's reads keep going to the replicas.
 *
 * @example
 * const sessions = createCausalSessions({ router, store: createMemoryTokenStore() });
 * await router.write('INSERT INTO messages ...', [...]);
 * await sessions.afterWrite(userId);
 * const { rows } = await sessions.readerFor(userId).query('SELECT * FROM messages WHERE ...', [...]);
 */
export function createCausalSessions(options: CausalSessionsOptions): CausalSessions {
  const { router, store } = options;
  if (typeof router?.captureToken !== 'function' || typeof router.read !== 'function') {
    throw new TypeError('createCausalSessions: `router` must be a router from createDbRouter');
  }
  if (typeof store?.get !== 'function' || typeof store.advance !== 'function') {
    throw new TypeError('createCausalSessions: `store` must have `get` and `advance`');
  }
  const onStoreError =
    options.onStoreError ??
    ((error: unknown, details: { operation: string; userId: string }) => {
      console.warn(`@switchboard/db-router: causal token store failed (${details.operation})`, error);
    });
  const report = (error: unknown, operation: 'get' | 'advance', userId: string) => {
    try {
      onStoreError(error, { operation, userId });
    } catch {
      // A failing logger must not fail the request.
    }
  };
  const checkUser = (userId: string) => {
    if (typeof userId !== 'string' || userId === '') {
      throw new TypeError('createCausalSessions: `userId` must be a non-empty string');
    }
  };

  // Reads of one user started in the same turn of the event loop share one look-up (a GraphQL
  // request resolving several fields reads several times at once). That is safe: a write the
  // user could have seen acknowledged was stored before the turn began, so before the shared
  // look-up was sent; and a write this process completes clears the user's shared look-up.
  // A turn's batch is its map of look-ups, each sent as it is made: the end of the turn only
  // retires the map.
  const turns = new TurnBatches<null, Map<string, Promise<string | undefined>>>({
    create: () => new Map(),
    send: noop,
  });
  const lookUp = (userId: string): Promise<string | undefined> => {
    const turnLookups = turns.batchFor(null);
    let lookup = turnLookups.get(userId);
    if (lookup === undefined) {
      try {
        lookup = store.get(userId);
      } catch (error) {
        lookup = Promise.reject(error);
      }
      turnLookups.set(userId, lookup);
    }
    return lookup;
  };
  const forget = (userId: string) => {
    if (turns.pending) turns.batchFor(null).delete(userId);
  };

  /** The options a read of this user needs: the newer token, or the primary when unknown. */
  const optionsFor = async (userId: string, extra: string | undefined): Promise<ReadOptions | undefined> => {
    let stored: string | undefined;
    try {
      stored = await lookUp(userId);
    } catch (error) {
      report(error, 'get', userId);
      return PRIMARY;
    }
    const token = newerCausalToken(stored, extra);
    return token === undefined ? undefined : { token };
  };

  return {
    async afterWrite(userId) {
      checkUser(userId);
      const token = await router.captureToken();
      try {
        await store.advance(userId, token);
      } catch (error) {
        report(error, 'advance', userId);
      }
      forget(userId);
      return token;
    },
    readerFor(userId, readerOptions) {
      checkUser(userId);
      const raw = readerOptions?.token;
      // A malformed header token still counts: the router's `invalidToken` policy decides.
      const extra = raw === undefined || raw === null || raw === '' ? undefined : raw;
      const extraValid = extra === undefined || decodeCausalToken(extra) !== undefined;
      return {
        query: async (statement, values) => {
          const readOptions = extraValid ? await optionsFor(userId, extra) : { token: extra };
          return router.read(statement, values, readOptions);
        },
      };
    },
    async tokenFor(userId) {
      checkUser(userId);
      return store.get(userId);
    },
    async remember(userId, token) {
      checkUser(userId);
      if (decodeCausalToken(token) === undefined) return false;
      await store.advance(userId, token as string);
      forget(userId);
      return true;
    },
  };
}

const PRIMARY: ReadOptions = { consistency: 'primary' };
const noop = () => {};
