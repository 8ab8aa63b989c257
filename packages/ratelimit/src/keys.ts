import { createHash } from 'node:crypto';

// Kept as they are; anything else is percent-encoded, so an encoded key never contains the
// separator '|' and user input cannot forge another key ("alice|x" stays one key).
const SAFE = /^[A-Za-z0-9_.@:-]*$/;
const MAX_KEY_LENGTH = 200;

/**
 * Turns any user-supplied key (IP, username, "user:chat" pair) into a bounded, unambiguous
 * storage key: safe characters kept, others percent-encoded, long keys replaced by a SHA-256
 * digest so one client cannot make Redis store megabyte keys.
 */
export function encodeKey(key: string): string {
  if (isSafeShort(key)) return key;
  const encoded = SAFE.test(key) ? key : encodeUnsafe(key);
  if (encoded.length <= MAX_KEY_LENGTH) return encoded;
  // '#' never appears in an encoded key, so a digest cannot equal a short key.
  return `#${createHash('sha256').update(key).digest('base64url')}`;
}

/**
 * True when `encodeKey(key) === key` because every character is kept and the key is short: the
 * usual case (user ids, IPs), checked with a plain loop (cheaper than the regular expression).
 */
export function isSafeShort(key: string): boolean {
  const length = key.length;
  if (length > MAX_KEY_LENGTH) return false;
  for (let i = 0; i < length; i++) {
    const c = key.charCodeAt(i);
    // a-z, A-Z, 0-9 and ':' (48-58), '_', '.', '@', '-'
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 58)) continue;
    if (c === 95 || c === 46 || c === 64 || c === 45) continue;
    return false;
  }
  return true;
}

function encodeUnsafe(key: string): string {
  let out = '';
  for (const char of key) {
    out += SAFE.test(char)
      ? char
      : Array.from(Buffer.from(char, 'utf8'), (byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  }
  return out;
}

/** Prefixes name a limiter in storage; they may not contain the separator or whitespace. */
export function validatePrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,100}$/.test(prefix)) {
    throw new TypeError(`prefix must be 1-100 characters of A-Z a-z 0-9 _ . : @ -, got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}

/** The key a store sees: `<prefix>|<encoded key>`. */
export function storageKey(prefix: string, key: string): string {
  return `${prefix}|${encodeKey(key)}`;
}
