import { SignJWT } from 'jose';
import { expect } from 'vitest';
import { loadKeySet, type PrivateSigningJwk } from '../src/index.ts';

/** An access token for `u1` signed with `key`, expired ten minutes ago. */
export async function expiredToken(
  key: PrivateSigningJwk,
  claims: { issuer: string; audience: string },
): Promise<string> {
  const keys = await loadKeySet([key]);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: 's1' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setSubject('u1')
    .setIssuedAt(now - 3_600)
    .setExpirationTime(now - 600)
    .sign(keys.signing.privateKey);
}

/**
 * The attack every HTTP adapter must refuse, required or optional: an expired, a forged and a
 * malformed token, each a 401 with the `invalid_token` challenge and its reason.
 */
export async function expectBadTokensRefused(
  get: (path: string, authorization: string) => Promise<Response>,
  paths: string[],
  { key, claims, token }: { key: PrivateSigningJwk; claims: { issuer: string; audience: string }; token: string },
): Promise<void> {
  const forged = `${token.slice(0, -4)}AAAA`;
  for (const [authorization, reason] of [
    [`Bearer ${await expiredToken(key, claims)}`, 'TOKEN_EXPIRED'],
    [`Bearer ${forged}`, 'INVALID_TOKEN'],
    ['Basic dTE6cGFzcw==', 'INVALID_TOKEN'],
  ] as const) {
    for (const path of paths) {
      const response = await get(path, authorization);
      expect(response.status, `${path} ${reason}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('invalid_token');
      expect(await response.json()).toMatchObject({ code: 'UNAUTHENTICATED', reason });
    }
  }
}
