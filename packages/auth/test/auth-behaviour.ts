import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test, vi } from 'vitest';
import { createAuth, generateSigningKey, type NewSession, type SessionStore } from '../src/index.ts';

const base = {
  issuer: 'https://auth.switchboard.test',
  audience: 'switchboard-api',
  password: { memoryCost: 1_024, timeCost: 1 },
};

/**
 * The behaviour of `createAuth` over a session store: run against memory (unit) and Postgres
 * (integration), so both stores are held to the same attacks.
 */
export function describeAuthBehaviour(storeName: string, makeStore: () => Promise<SessionStore> | SessionStore): void {
  async function setup(extra: Partial<Parameters<typeof createAuth>[0]> = {}) {
    return createAuth({
      ...base,
      keys: [await generateSigningKey()],
      stores: { sessions: await makeStore() },
      ...extra,
    });
  }

  describe(`createAuth: tokens and sessions (${storeName} store)`, () => {
    test('issueTokens starts a session whose access token verifies to the user and carries their claims', async () => {
      const auth = await setup();
      const pair = await auth.issueTokens({ id: 'u1', role: 'member' }, { userAgent: 'test/1', ip: '203.0.113.9' });
      expect(pair.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      const principal = await auth.verifyAccessToken(pair.accessToken);
      expect(principal).toMatchObject({ userId: 'u1', claims: { role: 'member' } });
      const [session] = await auth.listSessions('u1');
      expect(session).toMatchObject({ id: principal.sessionId, userId: 'u1', userAgent: 'test/1', ip: '203.0.113.9' });
    });

    test('refresh rotates: a new pair in the same session, the old refresh token consumed', async () => {
      const auth = await setup();
      const first = await auth.issueTokens({ id: 'u1', role: 'member' });
      const second = await auth.refresh(first.refreshToken, { userAgent: 'test/2' });
      expect(second.refreshToken).not.toBe(first.refreshToken);
      const [before, after] = [
        await auth.verifyAccessToken(first.accessToken),
        await auth.verifyAccessToken(second.accessToken),
      ];
      expect(after.sessionId).toBe(before.sessionId);
      expect(after.claims.role).toBe('member');
      expect((await auth.listSessions('u1'))[0]?.userAgent).toBe('test/2');
    });

    test('attack: a stolen refresh token used after the victim refreshed revokes the whole family', async () => {
      const auth = await setup();
      const stolen = await auth.issueTokens({ id: 'u1' });
      const victim = await auth.refresh(stolen.refreshToken);
      await expect(auth.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      // The victim's newer token dies too: whoever holds the family must log in again.
      await expect(auth.refresh(victim.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      expect(await auth.listSessions('u1')).toEqual([]);
    });

    test("attack: the thief refreshes first; the victim's next refresh is the reuse that kills the family", async () => {
      const auth = await setup();
      const original = await auth.issueTokens({ id: 'u1' });
      const thief = await auth.refresh(original.refreshToken);
      await expect(auth.refresh(original.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      await expect(auth.refresh(thief.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    });

    test('two concurrent refreshes with one token: exactly one succeeds (reuseLeewayMs 0)', async () => {
      const auth = await setup();
      const pair = await auth.issueTokens({ id: 'u1' });
      const results = await Promise.allSettled([auth.refresh(pair.refreshToken), auth.refresh(pair.refreshToken)]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
    });

    test('with reuseLeewayMs, a retry within the window replaces the unused successor: one live chain', async () => {
      const auth = await setup({ reuseLeewayMs: 5_000 });
      const pair = await auth.issueTokens({ id: 'u1' });
      const lost = await auth.refresh(pair.refreshToken); // the response that never arrived
      const retried = await auth.refresh(pair.refreshToken); // the client's retry
      await expect(auth.refresh(lost.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      const next = await auth.refresh(retried.refreshToken);
      expect(await auth.listSessions('u1')).toHaveLength(1);
      // attack: replaying the consumed token once its successor was used is reuse, leeway or not.
      await expect(auth.refresh(pair.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      await expect(auth.refresh(next.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    });

    test('maxSessionMs ends a session however often it is refreshed', async () => {
      const auth = await setup({ maxSessionMs: 200 });
      let pair = await auth.issueTokens({ id: 'u1' });
      pair = await auth.refresh(pair.refreshToken);
      await sleep(250);
      await expect(auth.refresh(pair.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    });

    test('logout ends one session; revokeAllSessions ends all of them', async () => {
      const auth = await setup();
      const laptop = await auth.issueTokens({ id: 'u1' });
      const phone = await auth.issueTokens({ id: 'u1' });
      const tablet = await auth.issueTokens({ id: 'u1' });
      await auth.logout(laptop.refreshToken);
      await expect(auth.refresh(laptop.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      expect(await auth.listSessions('u1')).toHaveLength(2);
      expect(await auth.revokeAllSessions('u1')).toBe(2);
      for (const pair of [phone, tablet])
        await expect(auth.refresh(pair.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    });

    test('an expired refresh token is refused', async () => {
      const auth = await setup({ refreshTtlMs: 30 });
      const pair = await auth.issueTokens({ id: 'u1' });
      await sleep(50);
      await expect(auth.refresh(pair.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    });

    test('malformed or forged refresh tokens are INVALID_REFRESH_TOKEN, never a crash', async () => {
      const auth = await setup();
      for (const junk of [
        '',
        'rt_',
        'not-a-token',
        `rt_${'A'.repeat(43)}`,
        'x'.repeat(10_000),
        undefined as unknown as string,
      ]) {
        await expect(auth.refresh(junk)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      }
    });

    test('refresh tokens are stored only as hashes', async () => {
      const inner = await makeStore();
      const created: NewSession[] = [];
      const spying: SessionStore = {
        ...inner,
        create: (session) => {
          created.push(session);
          return inner.create(session);
        },
      };
      const auth = await setup({ stores: { sessions: spying } });
      const pair = await auth.issueTokens({ id: 'u1' });
      expect(created[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(created)).not.toContain(pair.refreshToken.slice(3));
    });

    test('without keys: an ephemeral key, and a warning that tokens die with the process', async () => {
      const logger = { warn: vi.fn() };
      const auth = await createAuth({ ...base, logger });
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('ephemeral'));
      const pair = await auth.issueTokens({ id: 'u1' });
      expect((await auth.verifyAccessToken(pair.accessToken)).userId).toBe('u1');
      expect(auth.jwks().keys[0]).not.toHaveProperty('d');
    });

    test('verifyPassword: unknown user and wrong password answer alike', async () => {
      const auth = await setup();
      const stored = await auth.hashPassword('correct horse battery staple');
      expect(await auth.verifyPassword(stored, 'correct horse battery staple')).toEqual({
        ok: true,
        needsRehash: false,
      });
      expect(await auth.verifyPassword(null, 'guess')).toEqual(await auth.verifyPassword(stored, 'guess'));
    });

    test('reserved claim names in the user object are refused before a session is stored', async () => {
      const auth = await setup();
      await expect(auth.issueTokens({ id: 'u1', sub: 'admin' })).rejects.toThrow(/cannot be overridden/);
      expect(await auth.listSessions('u1')).toEqual([]);
    });
  });
}
