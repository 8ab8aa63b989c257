import { createHash } from 'node:crypto';

// Kept as they are; anything else is percent-encoded, so an encoded key never contains the
// separator '|' and user input cannot forge another key ("alice|x" stays one key).
const SAFE = /^[A-Za-z0-9_.@:-]*$/;
// The first character that is not kept, if any.
const UNSAFE = /[^A-Za-z0-9_.@:-]/;
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
 * usual case (user ids, IPs). A regular expression search, not a `charCodeAt` loop: once a
 * program defines a subclass of String (ioredis does, for RESP3 verbatim strings), V8 runs such
 * loops several times slower, while the search costs the same either way.
 */
export function isSafeShort(key: string): boolean {
  return key.length <= MAX_KEY_LENGTH && !UNSAFE.test(key);
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
