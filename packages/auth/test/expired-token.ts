import { SignJWT } from 'jose';
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
