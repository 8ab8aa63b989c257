import { setTimeout as sleep } from 'node:timers/promises';
import { testKeyPrefix } from '@switchboard/infra';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  type Auth,
  createAuth,
  generateSigningKey,
  type RevocationBus,
  type SessionRevocation,
  type SessionStore,
} from '../src/index.ts';
import { timeUntilRevoked } from '../src/testing/revocation-behaviour.ts';

/** Instances of one deployment: one session store, one channel, each instance its own bus. */
export interface RevocationDeployment {
  channel: string;
  store: SessionStore;
  instance(pollIntervalMs?: number): Promise<Auth>;
}

/**
 * What `createRedisRevocationBus` must do over a real Redis, whatever the topology (a
 * Sentinel-managed master, a Cluster in classic or sharded mode): instances of one deployment,
 * each on connections of its own, hear each other's revocations within 1 s, and junk on the
 * channel revokes nothing. `more` adds tests of one topology inside the same describe.
 */
export function describeRedisRevocationBus(
  name: string,
  setup: {
    /** Channel and user-id prefix, so that runs never meet. */
    label: string;
    store: () => SessionStore;
    /** A bus on `channel` over connections of its own (another process in effect). */
    bus: (channel: string) => RevocationBus;
    /** Publishes `message` on `channel` as a bus of this topology does. */
    publishRaw: (channel: string, message: string) => Promise<unknown>;
  },
  more?: (deployment: () => Promise<RevocationDeployment>) => void,
): void {
  const { label } = setup;
  describe(name, () => {
    const opened: Auth[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((auth) => auth.close()));
    });

    async function deployment(): Promise<RevocationDeployment> {
      const channel = `${testKeyPrefix(label)}revocations`;
      const keys = [await generateSigningKey()];
      const store = setup.store();
      const instance = async (pollIntervalMs = 60_000) => {
        const auth = await createAuth({
          issuer: 'https://auth.test',
          audience: 'api',
          keys,
          stores: { sessions: store },
          revocations: { bus: setup.bus(channel), pollIntervalMs },
        });
        opened.push(auth);
        return auth;
      };
      return { channel, store, instance };
    }

    test('logout on A: B, on connections of its own, refuses the token within 1 s', async () => {
      // The poll is a minute away: only the bus can carry it in time.
      const { instance } = await deployment();
      const [a, b] = [await instance(), await instance()];
      const heard: SessionRevocation[] = [];
      b.onSessionRevoked((revocation) => void heard.push(revocation));
      const pair = await a.issueTokens({ id: `${label}-alice` });
      const { sessionId } = await b.verifyAccessToken(pair.accessToken);
      await a.logout(pair.refreshToken);
      expect(await timeUntilRevoked(b, pair.accessToken, 1_000)).toBeLessThan(1_000);
      expect(heard).toEqual([{ sessionId, userId: `${label}-alice` }]);
    });

    test('revokeAllSessions and refresh reuse travel over the bus too', async () => {
      const { instance } = await deployment();
      const [a, b] = [await instance(), await instance()];
      const bob = `${label}-bob`;
      const everywhere = [await a.issueTokens({ id: bob }), await a.issueTokens({ id: bob })];
      await a.revokeAllSessions(bob);
      for (const pair of everywhere) expect(await timeUntilRevoked(b, pair.accessToken, 1_000)).toBeLessThan(1_000);

      const stolen = await a.issueTokens({ id: `${label}-carol` });
      const victim = await a.refresh(stolen.refreshToken);
      await a.refresh(victim.refreshToken);
      await expect(a.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      expect(await timeUntilRevoked(b, victim.accessToken, 1_000)).toBeLessThan(1_000);
    });

    test('attack: junk published on the channel revokes nothing and breaks nothing', async () => {
      const { channel, instance } = await deployment();
      const b = await instance();
      const pair = await b.issueTokens({ id: `${label}-erin` });
      const { sessionId } = await b.verifyAccessToken(pair.accessToken);
      const heard: SessionRevocation[] = [];
      b.onSessionRevoked((revocation) => void heard.push(revocation));
      for (const junk of ['not json', '{}', '"s"', '[1,2]', JSON.stringify([{ sessionId }]), JSON.stringify([{}])]) {
        await setup.publishRaw(channel, junk);
      }
      // Published last on the same connection: once it is heard, the junk before it was read.
      await setup.publishRaw(channel, JSON.stringify([{ sessionId: 'other-session', userId: 'someone' }]));
      await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 1_000, interval: 10 });
      await sleep(50);
      expect(heard).toEqual([{ sessionId: 'other-session', userId: 'someone' }]);
      expect((await b.verifyAccessToken(pair.accessToken)).userId).toBe(`${label}-erin`);
    });

    more?.(deployment);
  });
}
