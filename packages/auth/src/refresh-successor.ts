import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/*
 * Two tabs refreshing with one token at once must receive the same successor, but the store
 * keeps only SHA-256 hashes: the successor has to be recoverable by whoever presents the old
 * token, and by nobody else. It is therefore stored sealed (AES-256-GCM) under a key derived
 * from the presented token: the presented token is the capability.
 *
 * Why not derive the successor deterministically (an HMAC of the presented token under a
 * server secret)? That secret would become a master key: with it, any one token of a family
 * (an old one from a log, a backup) yields the whole chain after it, silently, without the
 * reuse detection ever seeing a replay. Sealing needs no secret to configure or rotate, and
 * the successor stays 256 fresh random bits.
 *
 * A leaked table alone opens nothing: the key comes from the token, and the table holds only
 * the token's SHA-256, from which the HKDF key cannot be computed. Only the newest consumed
 * token of a family keeps its sealed successor (stores drop it when the successor is used, and
 * cleanup drops those older than the leeway), so a leaked table plus an old token opens at most
 * the hop a replay of that token within the leeway would have received anyway.
 */

const SALT = Buffer.from('switchboard-auth refresh successor');
const INFO = Buffer.from('v1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyFrom(presentedToken: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(presentedToken, 'utf8'), SALT, INFO, 32));
}

/** `successor`, readable only with `presentedToken`: base64url of iv | ciphertext | tag. */
export function sealSuccessor(presentedToken: string, successor: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(presentedToken), iv);
  const sealed = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The successor sealed by {@link sealSuccessor}, or `undefined` if `sealed` is not one under this token. */
export function openSuccessor(presentedToken: string, sealed: string): string | undefined {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFrom(presentedToken), bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const opened = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return opened.toString('utf8');
  } catch {
    return undefined;
  }
}
