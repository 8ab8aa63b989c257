import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidCursorError } from './errors.ts';

/** A sort-key value as a cursor carries it. `fromPostgres` keys are always text (or NULL). */
export type KeyValue = null | string | number | bigint | boolean | Date;

/** Cursor format version (first byte). */
export const CURSOR_VERSION = 1;

enum Tag {
  Null = 0,
  String = 1,
  Number = 2,
  BigInt = 3,
  False = 4,
  True = 5,
  Date = 6,
}

const SIGNED_TAG_BYTES = 16;
const CHECKSUM_BYTES = 8;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes and verifies opaque cursors:
 * `base64url(version ‖ values ‖ tag)`, where `tag` is the first 16 bytes of
 * HMAC-SHA256(secret, version ‖ SHA-256(binding) ‖ values), or, without a secret, the first 8
 * bytes of SHA-256 of the same input (a checksum). The binding (order and query identity) is
 * not in the cursor: it is recomputed from the request, so a cursor from another query fails.
 */
export class CursorCodec {
  readonly #secrets: readonly Buffer[];
  readonly #maxLength: number;

  constructor(secrets: readonly Buffer[], maxLength: number) {
    this.#secrets = secrets;
    this.#maxLength = maxLength;
  }

  encode(binding: Buffer, values: readonly KeyValue[]): string {
    const body = encodeValues(values);
    const tag = this.#tag(this.#secrets[0], binding, body);
    const cursor = Buffer.concat([Buffer.of(CURSOR_VERSION), body, tag]).toString('base64url');
    // A cursor this paginator would refuse when it comes back is a configuration error: say so now.
    if (cursor.length > this.#maxLength) {
      throw new RangeError(
        `a cursor would be ${cursor.length} characters, above maxCursorLength (${this.#maxLength}): raise maxCursorLength or order by shorter keys`,
      );
    }
    return cursor;
  }

  /** The key values of a cursor issued for `binding`, or `InvalidCursorError`. */
  decode(cursor: unknown, binding: Buffer, argument: 'after' | 'before', keyCount: number): KeyValue[] {
    if (
      typeof cursor !== 'string' ||
      cursor.length === 0 ||
      cursor.length > this.#maxLength ||
      !BASE64URL.test(cursor)
    ) {
      throw new InvalidCursorError(argument, 'malformed');
    }
    const bytes = Buffer.from(cursor, 'base64url');
    // Only the canonical spelling is accepted: no second string for the same cursor.
    if (bytes.toString('base64url') !== cursor) throw new InvalidCursorError(argument, 'malformed');
    const tagBytes = this.#secrets.length > 0 ? SIGNED_TAG_BYTES : CHECKSUM_BYTES;
    if (bytes.length < 1 + tagBytes + 1) throw new InvalidCursorError(argument, 'malformed');
    if (bytes[0] !== CURSOR_VERSION) throw new InvalidCursorError(argument, 'unsupported-version');
    const body = bytes.subarray(1, bytes.length - tagBytes);
    const tag = bytes.subarray(bytes.length - tagBytes);
    const secrets = this.#secrets.length > 0 ? this.#secrets : [undefined];
    let verified = false;
    for (const secret of secrets) {
      // Constant-time compare; every secret is tried so timing says nothing about which matched.
      if (timingSafeEqual(this.#tag(secret, binding, body), tag)) verified = true;
    }
    if (!verified) throw new InvalidCursorError(argument, 'mismatch');
    let values: KeyValue[];
    try {
      values = decodeValues(body);
    } catch (cause) {
      throw new InvalidCursorError(argument, 'bad-values', { cause });
    }
    if (values.length !== keyCount) throw new InvalidCursorError(argument, 'bad-values');
    return values;
  }

  #tag(secret: Buffer | undefined, binding: Buffer, body: Buffer): Buffer {
    const hash = secret ? createHmac('sha256', secret) : createHash('sha256');
    hash.update(Buffer.of(CURSOR_VERSION));
    hash.update(binding);
    hash.update(body);
    return hash.digest().subarray(0, secret ? SIGNED_TAG_BYTES : CHECKSUM_BYTES);
  }
}

/** SHA-256 of the identity a cursor is bound to (order + query). */
export function bindingDigest(identity: string): Buffer {
  return createHash('sha256').update(identity).digest();
}

function encodeValues(values: readonly KeyValue[]): Buffer {
  const parts: Buffer[] = [varint(values.length)];
  for (const value of values) {
    if (value === null) parts.push(Buffer.of(Tag.Null));
    else if (typeof value === 'string') {
      const text = Buffer.from(value, 'utf8');
      parts.push(Buffer.of(Tag.String), varint(text.length), text);
    } else if (typeof value === 'number') parts.push(Buffer.of(Tag.Number), float64(value));
    else if (typeof value === 'bigint') {
      const text = Buffer.from(value.toString(), 'latin1');
      parts.push(Buffer.of(Tag.BigInt), varint(text.length), text);
    } else if (typeof value === 'boolean') parts.push(Buffer.of(value ? Tag.True : Tag.False));
    else if (value instanceof Date) parts.push(Buffer.of(Tag.Date), float64(value.getTime()));
    else
      throw new TypeError(
        `a sort key value must be a string, number, bigint, boolean, Date or null, got ${typeof value}`,
      );
  }
  return Buffer.concat(parts);
}

function decodeValues(body: Buffer): KeyValue[] {
  let offset = 0;
  const need = (n: number) => {
    if (offset + n > body.length) throw new RangeError('truncated');
  };
  const readVarint = () => {
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      need(1);
      const byte = body[offset++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new RangeError('varint too long');
  };
  const count = readVarint();
  if (count > 64) throw new RangeError('too many values');
  const values: KeyValue[] = [];
  for (let i = 0; i < count; i++) {
    need(1);
    const tag = body[offset++];
    switch (tag) {
      case Tag.Null:
        values.push(null);
        break;
      case Tag.String: {
        const length = readVarint();
        need(length);
        values.push(utf8.decode(body.subarray(offset, offset + length)));
        offset += length;
        break;
      }
      case Tag.Number:
      case Tag.Date: {
        need(8);
        const number = body.readDoubleBE(offset);
        offset += 8;
        values.push(tag === Tag.Date ? new Date(number) : number);
        break;
      }
      case Tag.BigInt: {
        const length = readVarint();
        need(length);
        const text = body.subarray(offset, offset + length).toString('latin1');
        if (!/^-?\d{1,400}$/.test(text)) throw new RangeError('bad bigint');
        values.push(BigInt(text));
        offset += length;
        break;
      }
      case Tag.False:
      case Tag.True:
        values.push(tag === Tag.True);
        break;
      default:
        throw new RangeError(`unknown value tag ${tag}`);
    }
  }
  if (offset !== body.length) throw new RangeError('trailing bytes');
  return values;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let rest = n;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function float64(n: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleBE(n);
  return buffer;
}
