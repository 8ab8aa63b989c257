import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test, vi } from 'vitest';
import { createAuth, generateSigningKey, type NewSession, type SessionStore } from '../index.ts';

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

    test('attack (strict, reuseLeewayMs 0): a stolen refresh token used after the victim refreshed revokes the whole family', async () => {
      const auth = await setup({ reuseLeewayMs: 0 });
      const stolen = await auth.issueTokens({ id: 'u1' });
      const victim = await auth.refresh(stolen.refreshToken);
      await expect(auth.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      // The victim's newer token dies too: whoever holds the family must log in again.
      await expect(auth.refresh(victim.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      expect(await auth.listSessions('u1')).toEqual([]);
    });

    test("attack (strict): the thief refreshes first; the victim's next refresh is the reuse that kills the family", async () => {
      const auth = await setup({ reuseLeewayMs: 0 });
      const original = await auth.issueTokens({ id: 'u1' });
      const thief = await auth.refresh(original.refreshToken);
      await expect(auth.refresh(original.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      await expect(auth.refresh(thief.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    });

    test('two concurrent refreshes with one token: exactly one succeeds (reuseLeewayMs 0)', async () => {
      const auth = await setup({ reuseLeewayMs: 0 });
      const pair = await auth.issueTokens({ id: 'u1' });
      const results = await Promise.allSettled([auth.refresh(pair.refreshToken), auth.refresh(pair.refreshToken)]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
    });

    test('a retry within the window (a lost response) gets the same successor: one live chain', async () => {
      const auth = await setup();
      const pair = await auth.issueTokens({ id: 'u1' });
      const lost = await auth.refresh(pair.refreshToken); // the response that never arrived
      const retried = await auth.refresh(pair.refreshToken); // the client's retry
      expect(retried.refreshToken).toBe(lost.refreshToken);
      const next = await auth.refresh(retried.refreshToken);
      expect(await auth.listSessions('u1')).toHaveLength(1);
      // attack: replaying the consumed token once its successor was used is reuse, leeway or not.
      await expect(auth.refresh(pair.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      await expect(auth.refresh(next.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
    });

    test('two tabs: 5 concurrent refreshes of one token all succeed with the same new refresh token, and the session lives on', async () => {
      const auth = await setup();
      const pair = await auth.issueTokens({ id: 'u1', role: 'member' });
      const tabs = await Promise.all(Array.from({ length: 5 }, () => auth.refresh(pair.refreshToken)));
      const successors = new Set(tabs.map((tab) => tab.refreshToken));
      expect(successors.size).toBe(1);
      expect([...successors][0]).not.toBe(pair.refreshToken);
      const { sessionId } = await auth.verifyAccessToken(pair.accessToken);
      for (const tab of tabs) {
        expect(await auth.verifyAccessToken(tab.accessToken)).toMatchObject({ sessionId, claims: { role: 'member' } });
      }
      expect(await auth.listSessions('u1')).toHaveLength(1);
      // The family has one live chain: the shared successor rotates, and so on.
      const next = await auth.refresh(tabs[0]?.refreshToken as string);
      expect((await auth.verifyAccessToken(next.accessToken)).sessionId).toBe(sessionId);
      expect(await auth.listSessions('u1')).toHaveLength(1);
    });

    test('attack: using the successor, then presenting the old token again, is reuse and revokes the family', async () => {
      const auth = await setup();
      const stolen = await auth.issueTokens({ id: 'u1' });
      const victim = await auth.refresh(stolen.refreshToken);
      const later = await auth.refresh(victim.refreshToken); // the successor is used
      await expect(auth.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      await expect(auth.refresh(later.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      expect(await auth.listSessions('u1')).toEqual([]);
    });

    test('attack: a stolen token replayed after the 10 s window is reuse and revokes the family', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const auth = await setup();
        const stolen = await auth.issueTokens({ id: 'u1' });
        const victim = await auth.refresh(stolen.refreshToken);
        vi.setSystemTime(Date.now() + 9_900);
        // Still inside the default window: the same pair as the victim (the documented trade-off).
        expect((await auth.refresh(stolen.refreshToken)).refreshToken).toBe(victim.refreshToken);
        vi.setSystemTime(Date.now() + 200);
        await expect(auth.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
        await expect(auth.refresh(victim.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
        expect(await auth.listSessions('u1')).toEqual([]);
      } finally {
        vi.useRealTimers();
      }
    });

    test('the successor kept for repeat presenters is sealed: the store never sees it in clear', async () => {
      const inner = await makeStore();
      const sealed: string[] = [];
      const spying: SessionStore = {
        ...inner,
        rotate: (input) => {
          if (input.sealedSuccessor !== undefined) sealed.push(input.sealedSuccessor);
          return inner.rotate(input);
        },
      };
      const auth = await setup({ stores: { sessions: spying } });
      const pair = await auth.issueTokens({ id: 'u1' });
      const next = await auth.refresh(pair.refreshToken);
      expect(sealed).toHaveLength(1);
      expect(sealed[0]).not.toContain(next.refreshToken.slice(3));
      expect(Buffer.from(sealed[0] as string, 'base64url').toString('latin1')).not.toContain(
        next.refreshToken.slice(3),
      );
      // attack: the sealed copy opens only with the presented token; another live token cannot claim it.
      const other = await auth.issueTokens({ id: 'u1' });
      expect((await auth.refresh(other.refreshToken)).refreshToken).not.toBe(next.refreshToken);
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

    test("revokeSession ends one session by id, and only the caller's own", async () => {
      const auth = await setup();
      const laptop = await auth.issueTokens({ id: 'u1' });
      const phone = await auth.issueTokens({ id: 'u1' });
      const other = await auth.issueTokens({ id: 'u2' });
      const phoneSession = (await auth.verifyAccessToken(phone.accessToken)).sessionId;
      expect((await auth.listSessions('u1')).map((session) => session.id)).toContain(phoneSession);
      // The attack: u2 names u1's session.
      expect(await auth.revokeSession('u2', phoneSession)).toBe(false);
      expect((await auth.refresh(phone.refreshToken)).refreshToken).toBeTypeOf('string');
      const otherSession = (await auth.verifyAccessToken(other.accessToken)).sessionId;
      expect(await auth.revokeSession('u1', otherSession)).toBe(false);
      expect(await auth.revokeSession('u1', 'no-such-session')).toBe(false);

      const laptopSession = (await auth.verifyAccessToken(laptop.accessToken)).sessionId;
      expect(await auth.revokeSession('u1', laptopSession)).toBe(true);
      await expect(auth.refresh(laptop.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      await expect(auth.verifyAccessToken(laptop.accessToken)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
      expect(await auth.revokeSession('u1', laptopSession)).toBe(false);
      expect((await auth.listSessions('u1')).map((session) => session.id)).not.toContain(laptopSession);
      await expect(auth.verifyAccessToken(other.accessToken)).resolves.toMatchObject({ userId: 'u2' });
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

    test('cleanup deletes expired tokens, dead families and long-ended sessions; reuse is still detected', async () => {
      const MINUTE = 60_000;
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const start = Date.now();
        const at = (minutes: number) => vi.setSystemTime(start + minutes * MINUTE);
        // Ended sessions are kept 16 min (access-token lifetime 15 min + 1 min).
        const auth = await setup({ refreshTtlMs: 10 * MINUTE, maxSessionMs: 20 * MINUTE });
        const a0 = await auth.issueTokens({ id: 'alice' });
        const b0 = await auth.issueTokens({ id: 'bob' });
        const c0 = await auth.issueTokens({ id: 'carol' });
        const e0 = await auth.issueTokens({ id: 'erin' });
        await auth.logout(b0.refreshToken);

        at(5);
        const a1 = await auth.refresh(a0.refreshToken);
        await auth.refresh(c0.refreshToken);
        const e1 = await auth.refresh(e0.refreshToken);
        expect(await auth.cleanup()).toEqual({ tokens: 0, sessions: 0 });

        at(12);
        await auth.refresh(a1.refreshToken);
        await auth.refresh(e1.refreshToken);
        // a0, c0, e0 expired at 10 min; a1 (consumed, unexpired, live family) stays.
        expect(await auth.cleanup()).toEqual({ tokens: 3, sessions: 0 });
        vi.setSystemTime(Date.now() + 11_000);
        // attack: the consumed a1 replayed after cleanup is still recognised as reuse.
        await expect(auth.refresh(a1.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
        await expect(auth.refresh(c0.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });

        at(17);
        // c1 and e1 expired at 15 min; bob's session ended (logout) 17 min ago.
        expect(await auth.cleanup()).toEqual({ tokens: 2, sessions: 1 });
        at(21);
        // erin's family is past maxSessionMs: its unexpired e2 goes too.
        expect(await auth.cleanup()).toEqual({ tokens: 1, sessions: 0 });
        at(40);
        // alice (revoked at 12 min), carol (expired at 15), erin (max age at 20): ended > 16 min ago.
        expect(await auth.cleanup()).toEqual({ tokens: 0, sessions: 3 });
        expect(await auth.cleanup()).toEqual({ tokens: 0, sessions: 0 });
      } finally {
        vi.useRealTimers();
      }
    });
  });
}
