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
 * usual case (user ids, IPs). A regular expression search rather than a `charCodeAt` loop: it is
 * as fast, and unaffected by the String-subclass slowdown explained in
 * tools/hot-path/src/string-methods.ts.
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

/** What separates a limiter's prefix from an encoded key in a storage key. */
export const KEY_SEPARATOR = '|';

/** The key a store sees for a key already encoded: `<prefix>|<encoded key>`. */
export function joinStorageKey(prefix: string, encodedKey: string): string {
  return `${prefix}${KEY_SEPARATOR}${encodedKey}`;
}

/**
 * The storage key of a limiter's (`prefix`) user key: `<prefix>|<encoded key>`, or with a hash
 * tag (the limiter's `hashTag` option) `<prefix>|{<encoded tag>}<encoded key>`. What the entries
 * of `evaluate` carry, and what a store's bound `consume` derives from the key it is given. An
 * encoded key or tag never contains `{` or `}` (percent-encoded), nor may a prefix: the braces
 * are the tag's alone.
 */
export function storageKey(prefix: string, key: string, hashTag?: string): string {
  return joinStorageKey(prefix, hashTag === undefined ? encodeKey(key) : taggedKey(encodeKey(hashTag), encodeKey(key)));
}

/** An encoded key with its encoded hash tag in front: `{<tag>}<key>`. */
export function taggedKey(encodedTag: string, encodedKey: string): string {
  return `{${encodedTag}}${encodedKey}`;
}

/**
 * Runs a limiter's `hashTag` function on a key: the tag it gives must be a non-empty string (a
 * TypeError otherwise, as for a bad key).
 */
export function hashTagOf(hashTag: (key: string) => string, key: string): string {
  const tag = hashTag(key);
  if (typeof tag !== 'string' || tag.length === 0)
    throw new TypeError(
      `hashTag must return a non-empty string, got ${tag === '' ? 'an empty string' : typeof tag} for key ${JSON.stringify(key)}`,
    );
  return tag;
}
