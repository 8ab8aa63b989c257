import { SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { createAccessTokenService, createAuth, generateSigningKey, type KeySet, loadKeySet } from '../src/index.ts';

const settings = { issuer: 'https://auth.switchboard.test', audience: 'switchboard-api' };
const HOUR = 3_600;

describe('access tokens: token age', () => {
  let keys: KeySet;
  let kid: string;

  beforeAll(async () => {
    const jwk = await generateSigningKey();
    kid = jwk.kid;
    keys = await loadKeySet([jwk]);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** A token signed with the real key (a leaked key, a misconfigured instance): only its times are chosen. */
  const mint = (iat: number, exp: number) =>
    new SignJWT({ sid: 's1' })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject('u1')
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(keys.signing.privateKey);

  const seconds = () => Math.floor(Date.now() / 1000);

  test('attack: a correctly signed token issued 2 h ago, with exp still in the future, is refused', async () => {
    const now = seconds();
    const old = await mint(now - 2 * HOUR, now + 60);
    await expect(createAccessTokenService(keys, settings).verify(old)).rejects.toMatchObject({
      name: 'AuthError',
      code: 'INVALID_TOKEN',
    });
    // Where such a lifetime is allowed (3 h), its age alone still refuses it: a client refreshes.
    const longLived = createAccessTokenService(keys, {
      ...settings,
      ttlMs: 3 * HOUR * 1000,
      maxTokenAgeMs: HOUR * 1000,
    });
    await expect(longLived.verify(old)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect((await longLived.verify(await mint(now - 60, now + 60))).userId).toBe('u1');
  });

  test('attack: a token minted with a 24 h lifetime is refused at once', async () => {
    const service = createAccessTokenService(keys, settings);
    const now = seconds();
    await expect(service.verify(await mint(now, now + 24 * HOUR))).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    // One second past lifetime + tolerance is already too long; exactly at it is ours.
    await expect(service.verify(await mint(now, now + 900 + 6))).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    expect((await service.verify(await mint(now, now + 900 + 5))).userId).toBe('u1');
  });

  test('attack: an iat in the future (to outlive maxTokenAgeMs) is refused', async () => {
    const service = createAccessTokenService(keys, settings);
    const now = seconds();
    await expect(service.verify(await mint(now + HOUR, now + HOUR + 600))).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
    // Within the 5 s clock tolerance is fine (another instance's clock runs a little ahead).
    expect((await service.verify(await mint(now + 3, now + 600))).userId).toBe('u1');
  });

  test('maxTokenAgeMs: a token older than it is refused, also when it sits in the verified-token cache', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const service = createAccessTokenService(keys, { ...settings, maxTokenAgeMs: 60_000 });
    const { token } = await service.sign({ userId: 'u1', sessionId: 's1' });
    expect((await service.verify(token)).userId).toBe('u1'); // now cached
    vi.setSystemTime(Date.now() + 59_000);
    expect((await service.verify(token)).userId).toBe('u1');
    vi.setSystemTime(Date.now() + 2_000);
    // exp (15 min) is far away: only the age refuses it, and the cache does not answer for it.
    await expect(service.verify(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  test('createAuth passes maxTokenAgeMs through, and refuses nonsense', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const auth = await createAuth({ ...settings, keys: [await generateSigningKey()], maxTokenAgeMs: 30_000 });
    const { accessToken } = await auth.issueTokens({ id: 'u1' });
    await auth.verifyAccessToken(accessToken);
    vi.setSystemTime(Date.now() + 31_000);
    await expect(auth.verifyAccessToken(accessToken)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect(() => createAccessTokenService(keys, { ...settings, maxTokenAgeMs: 0 })).toThrow(TypeError);
    await auth.close();
  });
});
