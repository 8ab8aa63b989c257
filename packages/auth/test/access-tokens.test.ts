import { createHmac, createPublicKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { verificationKeyFor } from '../src/access-tokens.ts';
import {
  type AccessTokenService,
  createAccessTokenService,
  generateSigningKey,
  type KeySet,
  loadKeySet,
  type PrivateSigningJwk,
} from '../src/index.ts';

const settings = { issuer: 'https://auth.switchboard.test', audience: 'switchboard-api' };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function expectRejected(service: AccessTokenService, token: string, code = 'INVALID_TOKEN') {
  await expect(service.verify(token)).rejects.toMatchObject({ name: 'AuthError', code });
}

describe('access tokens', () => {
  let key: PrivateSigningJwk;
  let keys: KeySet;
  let service: AccessTokenService;
  let valid: string;

  beforeAll(async () => {
    key = await generateSigningKey();
    keys = await loadKeySet([key]);
    service = createAccessTokenService(keys, settings);
    ({ token: valid } = await service.sign({ userId: 'u1', sessionId: 's1', claims: { role: 'member' } }));
  });

  test('a token it signed verifies to its principal, with kid and typ in the header', async () => {
    const principal = await service.verify(valid);
    expect(principal).toMatchObject({
      userId: 'u1',
      sessionId: 's1',
      claims: { role: 'member', iss: settings.issuer, aud: settings.audience },
    });
    const header = JSON.parse(Buffer.from(valid.split('.')[0] as string, 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' });
    expect((principal.claims.exp as number) - (principal.claims.iat as number)).toBe(900);
  });

  test('attack: alg "none" (unsigned token) is refused', async () => {
    const [, payload] = valid.split('.');
    await expectRejected(service, `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${payload}.`);
    await expectRejected(service, `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`);
  });

  test('attack: HS256 signed with the public key (algorithm confusion) is refused', async () => {
    const [, payload] = valid.split('.');
    const publicPem = createPublicKey({ key: keys.jwks().keys[0] as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    for (const secret of [publicPem, JSON.stringify(keys.jwks().keys[0]), String(keys.jwks().keys[0]?.x)]) {
      const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid });
      const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      await expectRejected(service, `${header}.${payload}.${signature}`);
    }
  });

  test('attack: a tampered payload (escalated role, other user) is refused', async () => {
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    await expectRejected(service, `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`);
    await expectRejected(service, `${header}.${b64({ ...claims, sub: 'u2' })}.${signature}`);
  });

  test('attack: a token for another issuer or audience is refused', async () => {
    const other = createAccessTokenService(keys, { issuer: 'https://evil.test', audience: settings.audience });
    const otherAudience = createAccessTokenService(keys, { issuer: settings.issuer, audience: 'other-api' });
    await expectRejected(service, (await other.sign({ userId: 'u1', sessionId: 's1' })).token);
    await expectRejected(service, (await otherAudience.sign({ userId: 'u1', sessionId: 's1' })).token);
  });

  test('expired tokens are TOKEN_EXPIRED; not-yet-valid ones are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const craft = (edit: (jwt: SignJWT) => SignJWT) =>
      edit(
        new SignJWT({ sid: 's1' })
          .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
          .setIssuer(settings.issuer)
          .setAudience(settings.audience)
          .setSubject('u1'),
      ).sign(keys.signing.privateKey);
    await expectRejected(
      service,
      await craft((jwt) => jwt.setIssuedAt(now - 3_600).setExpirationTime(now - 60)),
      'TOKEN_EXPIRED',
    );
    await expectRejected(
      service,
      await craft((jwt) =>
        jwt
          .setIssuedAt(now)
          .setExpirationTime(now + 600)
          .setNotBefore(now + 300),
      ),
    );
    // Within the 5 s clock tolerance is fine.
    expect((await service.verify(await craft((jwt) => jwt.setIssuedAt(now).setExpirationTime(now - 2)))).userId).toBe(
      'u1',
    );
  });

  test('attack: unknown kid, missing kid, or a kid with another algorithm is refused', async () => {
    const stranger = await loadKeySet([await generateSigningKey()]);
    const strangerService = createAccessTokenService(stranger, settings);
    await expectRejected(service, (await strangerService.sign({ userId: 'u1', sessionId: 's1' })).token);
    const [, payload, signature] = valid.split('.');
    await expectRejected(service, `${b64({ alg: 'EdDSA', typ: 'at+jwt' })}.${payload}.${signature}`);
    await expectRejected(service, `${b64({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })}.${payload}.${signature}`);
  });

  test('the kid/alg match on its own: a kid is used only with its own algorithm', async () => {
    // Tested without jose, which also refuses a key of the wrong type: each layer must hold alone.
    const es256 = await generateSigningKey({ alg: 'ES256' });
    const both = await loadKeySet([key, es256]);
    expect(verificationKeyFor(both, { kid: key.kid, alg: 'EdDSA' })).toBe(both.verification.get(key.kid)?.publicKey);
    expect(verificationKeyFor(both, { kid: es256.kid, alg: 'ES256' })).toBe(
      both.verification.get(es256.kid)?.publicKey,
    );
    for (const header of [
      { kid: key.kid, alg: 'ES256' },
      { kid: es256.kid, alg: 'EdDSA' },
      { kid: key.kid, alg: 'HS256' },
      { kid: key.kid },
      { alg: 'EdDSA' },
      { kid: 'unknown', alg: 'EdDSA' },
    ]) {
      expect(() => verificationKeyFor(both, header), JSON.stringify(header)).toThrow(
        expect.objectContaining({ code: 'INVALID_TOKEN' }),
      );
    }
  });

  test('attack: a correctly signed token of another type, or missing required claims, is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (payload: Record<string, unknown>, typ = 'at+jwt') => {
      let jwt = new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience);
      if (!('noExp' in payload)) jwt = jwt.setExpirationTime(now + 600);
      if (!('noIat' in payload)) jwt = jwt.setIssuedAt(now);
      return jwt.sign(keys.signing.privateKey);
    };
    // An ID token or any other JWT signed with the same key is not an access token.
    await expectRejected(service, await sign({ sub: 'u1', sid: 's1' }, 'JWT'));
    await expectRejected(service, await sign({ sid: 's1' }));
    await expectRejected(service, await sign({ sub: 'u1' }));
    await expectRejected(service, await sign({ sub: 'u1', sid: 42 }));
    await expectRejected(service, await sign({ sub: 'u1', sid: 's1', noExp: true }));
    await expectRejected(service, await sign({ sub: 'u1', sid: 's1', noIat: true }));
  });

  test('malformed input is INVALID_TOKEN, never a crash', async () => {
    for (const junk of [
      '',
      'a.b',
      'a.b.c',
      '...',
      'x'.repeat(10_000),
      undefined as unknown as string,
      42 as unknown as string,
    ]) {
      await expectRejected(service, junk);
    }
  });

  test('rotation: tokens of the previous key verify while it stays in the set, and stop once it is dropped', async () => {
    const next = await generateSigningKey({ alg: 'ES256' });
    const rotated = createAccessTokenService(await loadKeySet([next, key]), settings);
    const fresh = await rotated.sign({ userId: 'u1', sessionId: 's1' });
    expect(JSON.parse(Buffer.from(fresh.token.split('.')[0] as string, 'base64url').toString()).kid).toBe(next.kid);
    expect((await rotated.verify(valid)).userId).toBe('u1');
    const afterGrace = createAccessTokenService(await loadKeySet([next]), settings);
    await expectRejected(afterGrace, valid);
    expect((await afterGrace.verify(fresh.token)).userId).toBe('u1');
  });

  test('jwks publishes public halves only', async () => {
    const set = await loadKeySet([key, await generateSigningKey({ alg: 'ES256' })]);
    const { keys: published } = set.jwks();
    expect(published).toHaveLength(2);
    for (const jwk of published) {
      expect(jwk).not.toHaveProperty('d');
      expect(jwk.use).toBe('sig');
    }
  });

  test('bad keys and reserved claims are refused clearly', async () => {
    const { d: _d, ...publicOnly } = key;
    await expect(loadKeySet([publicOnly as PrivateSigningJwk])).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(loadKeySet([{ ...key, alg: 'HS256' as never }])).rejects.toThrow(/EdDSA or ES256/);
    await expect(loadKeySet([key, key])).rejects.toThrow(/appears twice/);
    await expect(loadKeySet([])).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(service.sign({ userId: 'u1', sessionId: 's1', claims: { sub: 'admin' } })).rejects.toThrow(
      /cannot be overridden/,
    );
  });
});

describe('verified-token cache', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  test('a token verified once is answered without checking its signature again', async () => {
    const keys = await loadKeySet([await generateSigningKey()]);
    const service = createAccessTokenService(keys, settings);
    const { token } = await service.sign({ userId: 'u1', sessionId: 's1' });
    const verify = vi.spyOn(crypto.subtle, 'verify');
    const first = await service.verify(token);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(await service.verify(token)).toBe(first);
    expect(verify).toHaveBeenCalledTimes(1);
    // Shared by every request of the token: nobody can change it for the others.
    expect(Object.isFrozen(first) && Object.isFrozen(first.claims)).toBe(true);

    const uncached = createAccessTokenService(keys, { ...settings, cacheSize: 0 });
    await uncached.verify(token);
    await uncached.verify(token);
    expect(verify).toHaveBeenCalledTimes(3);
  });

  test('attack: a cached token altered by one character is checked, and refused', async () => {
    const keys = await loadKeySet([await generateSigningKey()]);
    const service = createAccessTokenService(keys, settings);
    const { token } = await service.sign({ userId: 'u1', sessionId: 's1', claims: { role: 'member' } });
    await service.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    await expectRejected(service, `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`);
    const flipped = signature.at(-2) === 'A' ? 'B' : 'A';
    await expectRejected(service, `${header}.${payload}.${signature.slice(0, -2)}${flipped}${signature.at(-1)}`);
  });

  test('a cached token still expires: TOKEN_EXPIRED once past exp and the clock tolerance', async () => {
    const keys = await loadKeySet([await generateSigningKey()]);
    const service = createAccessTokenService(keys, { ...settings, ttlMs: 60_000 });
    vi.useFakeTimers({ toFake: ['Date'] });
    const { token } = await service.sign({ userId: 'u1', sessionId: 's1' });
    await service.verify(token);
    vi.setSystemTime(Date.now() + 63_000);
    expect((await service.verify(token)).userId).toBe('u1');
    vi.setSystemTime(Date.now() + 4_000);
    await expectRejected(service, token, 'TOKEN_EXPIRED');
  });

  test('at most cacheSize tokens are kept: the oldest is checked again', async () => {
    const keys = await loadKeySet([await generateSigningKey()]);
    const service = createAccessTokenService(keys, { ...settings, cacheSize: 2 });
    const tokens = await Promise.all(['a', 'b', 'c'].map((id) => service.sign({ userId: id, sessionId: id })));
    for (const { token } of tokens) await service.verify(token);
    const verify = vi.spyOn(crypto.subtle, 'verify');
    await service.verify(tokens[2]?.token as string);
    expect(verify).toHaveBeenCalledTimes(0);
    await service.verify(tokens[0]?.token as string);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(() => createAccessTokenService(keys, { ...settings, cacheSize: -1 })).toThrow(TypeError);
  });
});
