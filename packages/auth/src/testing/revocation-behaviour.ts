import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  type Auth,
  createAuth,
  createMemoryRevocationBus,
  generateSigningKey,
  type PrivateSigningJwk,
  type RevocationBus,
  type SessionRevocation,
  type SessionStore,
} from '../index.ts';

const base = {
  issuer: 'https://auth.switchboard.test',
  audience: 'switchboard-api',
  password: { memoryCost: 1_024, timeCost: 1 },
};

/** Resolves with how long it took until `auth` refused `token` with SESSION_REVOKED. */
export async function timeUntilRevoked(auth: Auth, token: string, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    try {
      await auth.verifyAccessToken(token);
    } catch (error) {
      expect(error).toMatchObject({ code: 'SESSION_REVOKED' });
      return Date.now() - startedAt;
    }
    await sleep(5);
  }
  throw new Error(`the token was still accepted after ${timeoutMs} ms`);
}

/**
 * Revocation across `createAuth` instances that share a session store (and a bus): run against
 * memory (unit) and Postgres (integration).
 */
export function describeRevocation(storeName: string, makeStore: () => Promise<SessionStore> | SessionStore): void {
  describe(`createAuth: revocation across instances (${storeName} store)`, () => {
    const opened: Auth[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((auth) => auth.close()));
    });

    /** A cluster of instances: one store, one bus, one key set. */
    async function cluster(shared: { store?: SessionStore; bus?: RevocationBus } = {}) {
      const keys: PrivateSigningJwk[] = [await generateSigningKey()];
      const store = shared.store ?? (await makeStore());
      const bus = shared.bus ?? createMemoryRevocationBus();
      const instance = async (extra: Partial<Parameters<typeof createAuth>[0]> = {}) => {
        const auth = await createAuth({
          ...base,
          keys,
          stores: { sessions: store },
          revocations: { bus, pollIntervalMs: 60_000 },
          ...extra,
        });
        opened.push(auth);
        return auth;
      };
      return { store, bus, instance };
    }

    test('logout on A: A refuses the access token at once, B within 1 s, with SESSION_REVOKED (cached or not)', async () => {
      // The poll is a minute away: only the bus can make B refuse in time.
      const { instance } = await cluster();
      const [a, b] = [await instance(), await instance()];
      const pair = await a.issueTokens({ id: 'alice' });
      const other = await a.issueTokens({ id: 'alice' });
      // Both instances have verified (and cached) the token before the logout.
      expect((await a.verifyAccessToken(pair.accessToken)).userId).toBe('alice');
      expect((await b.verifyAccessToken(pair.accessToken)).userId).toBe('alice');

      await a.logout(pair.refreshToken);
      await expect(a.verifyAccessToken(pair.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
      await expect(a.authenticate({ authorization: `Bearer ${pair.accessToken}` })).rejects.toMatchObject({
        code: 'SESSION_REVOKED',
      });
      expect(await timeUntilRevoked(b, pair.accessToken, 1_000)).toBeLessThan(1_000);
      // Only that session: the user's other one still works everywhere.
      for (const auth of [a, b]) expect((await auth.verifyAccessToken(other.accessToken)).userId).toBe('alice');
    });

    test('revokeAllSessions on B: A refuses the access tokens of every session of the user within 1 s', async () => {
      const { instance } = await cluster();
      const [a, b] = [await instance(), await instance()];
      const sessions = [await a.issueTokens({ id: 'alice' }), await a.issueTokens({ id: 'alice' })];
      const bobs = await a.issueTokens({ id: 'bob' });
      for (const pair of sessions) await a.verifyAccessToken(pair.accessToken);
      expect(await b.revokeAllSessions('alice')).toBe(2);
      for (const pair of sessions) {
        await expect(b.verifyAccessToken(pair.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
        expect(await timeUntilRevoked(a, pair.accessToken, 1_000)).toBeLessThan(1_000);
      }
      expect((await a.verifyAccessToken(bobs.accessToken)).userId).toBe('bob');
    });

    test('attack: refresh-token reuse on A revokes the family: B refuses its access tokens, old and new', async () => {
      const { instance } = await cluster();
      const [a, b] = [await instance(), await instance()];
      const stolen = await a.issueTokens({ id: 'alice' });
      const victim = await a.refresh(stolen.refreshToken);
      // The successor is used: a replay is reuse whatever reuseLeewayMs says.
      const latest = await a.refresh(victim.refreshToken);
      await b.verifyAccessToken(latest.accessToken);
      await expect(a.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      for (const token of [stolen.accessToken, victim.accessToken, latest.accessToken]) {
        await expect(a.verifyAccessToken(token)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
        expect(await timeUntilRevoked(b, token, 1_000)).toBeLessThan(1_000);
      }
    });

    test('a lost bus message (revoked in the store, nothing published) is picked up by the poll within pollIntervalMs', async () => {
      const pollIntervalMs = 300;
      const { store, instance } = await cluster();
      const b = await instance({ revocations: { bus: createMemoryRevocationBus(), pollIntervalMs } });
      const pair = await b.issueTokens({ id: 'alice' });
      await b.verifyAccessToken(pair.accessToken);
      // Another instance revoked, and its message never arrived.
      await store.revokeAllForUser('alice', new Date());
      // Allowance over the interval: the poll's own query and timer jitter.
      expect(await timeUntilRevoked(b, pair.accessToken, 5_000)).toBeLessThan(pollIntervalMs + 200);
    });

    test('a failed publish does not fail the logout; the other instances learn it from the poll', async () => {
      const pollIntervalMs = 300;
      const working = createMemoryRevocationBus();
      const broken: RevocationBus = {
        publish: async () => {
          throw new Error('Redis is failing over');
        },
        subscribe: (handler) => working.subscribe(handler),
      };
      const logger = { warn: vi.fn() };
      const { instance } = await cluster();
      const a = await instance({ revocations: { bus: broken, pollIntervalMs: 60_000 }, logger });
      const b = await instance({ revocations: { bus: working, pollIntervalMs } });
      const pair = await a.issueTokens({ id: 'alice' });
      await b.verifyAccessToken(pair.accessToken);
      await a.logout(pair.refreshToken);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('could not publish'));
      await expect(a.verifyAccessToken(pair.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
      expect(await timeUntilRevoked(b, pair.accessToken, 5_000)).toBeLessThan(pollIntervalMs + 200);
    });

    test('an instance started after a revocation refuses the token from its first request (start-up fill)', async () => {
      const { store, instance } = await cluster();
      const a = await instance();
      const pair = await a.issueTokens({ id: 'alice' });
      await a.logout(pair.refreshToken);
      // No bus message can reach it (it was not subscribed), and its first poll is a minute away.
      const late = await instance({ revocations: { pollIntervalMs: 60_000 } });
      await expect(late.verifyAccessToken(pair.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
      // The same for a revocation no instance published.
      const other = await a.issueTokens({ id: 'bob' });
      await store.revokeAllForUser('bob', new Date());
      const later = await instance({ revocations: { pollIntervalMs: 60_000 } });
      await expect(later.verifyAccessToken(other.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
    });

    test('onSessionRevoked: every instance is told once per session, from the bus, locally and from the poll', async () => {
      const pollIntervalMs = 300;
      const { store, instance } = await cluster();
      // b on the bus; a and c without one, a polling every minute, c every pollIntervalMs.
      const a = await instance({ revocations: { pollIntervalMs: 60_000 } });
      const [b, c] = [await instance(), await instance({ revocations: { pollIntervalMs } })];
      const heard = new Map<Auth, SessionRevocation[]>([
        [a, []],
        [b, []],
        [c, []],
      ]);
      for (const [auth, list] of heard) auth.onSessionRevoked((revocation) => void list.push(revocation));

      const pair = await b.issueTokens({ id: 'alice' });
      const { sessionId } = await b.verifyAccessToken(pair.accessToken);
      await b.logout(pair.refreshToken);
      // b: at once (its own). a: no bus, a minute's poll: never in this test. c: no bus, by its poll.
      expect(heard.get(b)).toEqual([{ sessionId, userId: 'alice' }]);
      await vi.waitFor(() => expect(heard.get(c)).toEqual([{ sessionId, userId: 'alice' }]), {
        timeout: pollIntervalMs + 500,
      });
      // Its own message coming back over the bus, and later polls, tell nobody twice.
      await sleep(pollIntervalMs + 100);
      expect(heard.get(b)).toHaveLength(1);
      expect(heard.get(c)).toHaveLength(1);
      expect(heard.get(a)).toEqual([]);

      // A revocation that never went through the bus: told by the poll.
      const lost = await b.issueTokens({ id: 'bob' });
      const lostSession = (await b.verifyAccessToken(lost.accessToken)).sessionId;
      await store.revokeAllForUser('bob', new Date());
      await vi.waitFor(() => expect(heard.get(c)?.at(-1)).toEqual({ sessionId: lostSession, userId: 'bob' }), {
        timeout: pollIntervalMs + 500,
      });
    });

    test('a listener that throws does not stop the others nor the revocation; removed listeners hear nothing', async () => {
      const logger = { warn: vi.fn() };
      const { instance } = await cluster();
      const a = await instance({ logger });
      const heard: string[] = [];
      a.onSessionRevoked(() => {
        throw new Error('listener bug');
      });
      a.onSessionRevoked(async () => {
        throw new Error('async listener bug');
      });
      a.onSessionRevoked(({ sessionId }) => void heard.push(sessionId));
      const removed = vi.fn();
      a.onSessionRevoked(removed)();
      const pair = await a.issueTokens({ id: 'alice' });
      await a.logout(pair.refreshToken);
      await expect(a.verifyAccessToken(pair.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
      expect(heard).toHaveLength(1);
      expect(removed).not.toHaveBeenCalled();
      await vi.waitFor(() => expect(logger.warn).toHaveBeenCalledTimes(2));
    });

    test('without the revocations option, the instance that revoked still refuses at once', async () => {
      const store = await makeStore();
      const auth = await createAuth({ ...base, keys: [await generateSigningKey()], stores: { sessions: store } });
      opened.push(auth);
      const pair = await auth.issueTokens({ id: 'alice' });
      await auth.verifyAccessToken(pair.accessToken);
      await auth.logout(pair.refreshToken);
      await expect(auth.verifyAccessToken(pair.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
    });

    test('createAuth fails with STORE_UNAVAILABLE when the start-up read fails, and leaves the bus', async () => {
      const store = await makeStore();
      const failing: SessionStore = {
        ...store,
        listRevokedSince: async () => {
          throw new Error('connection refused');
        },
      };
      let [subscribed, live] = [0, 0];
      const bus: RevocationBus = {
        publish: async () => {},
        subscribe: async () => {
          subscribed++;
          live++;
          return () => {
            live--;
          };
        },
      };
      await expect(
        createAuth({ ...base, stores: { sessions: failing }, revocations: { bus }, logger: { warn: () => {} } }),
      ).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect([subscribed, live]).toEqual([1, 0]);
    });

    test('close() ends the poll and the subscription', async () => {
      const pollIntervalMs = 100;
      const { store, bus, instance } = await cluster();
      const a = await instance();
      const b = await instance({ revocations: { bus, pollIntervalMs } });
      const pair = await a.issueTokens({ id: 'alice' });
      const heard = vi.fn();
      b.onSessionRevoked(heard);
      await b.close();
      await a.logout(pair.refreshToken);
      await store.revokeAllForUser('alice', new Date());
      await sleep(pollIntervalMs * 3);
      expect(heard).not.toHaveBeenCalled();
      await expect(b.verifyAccessToken(pair.accessToken)).resolves.toMatchObject({ userId: 'alice' });
    });

    test('bad revocation options are TypeErrors', async () => {
      for (const pollIntervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(
          createAuth({ ...base, revocations: { pollIntervalMs }, logger: { warn: () => {} } }),
        ).rejects.toThrow(TypeError);
      }
    });
  });
}
