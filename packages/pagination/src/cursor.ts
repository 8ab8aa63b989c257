import { hash, timingSafeEqual } from 'node:crypto';
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
const SCRATCH_BYTES = 256;
// SHA-256's block: HMAC's key pads are this long, and the MAC input starts after one.
const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;
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
  // Per secret, HMAC's two padded keys (RFC 2104): `key ⊕ ipad` and `key ⊕ opad`, made once.
  readonly #pads: readonly { inner: Buffer; outer: Buffer }[];
  readonly #maxLength: number;
  readonly #tagBytes: number;
  // Reused for every cursor made or checked (all synchronous): one block for HMAC's inner pad,
  // then `version ‖ binding ‖ values`, the MAC input, written in place. HMAC is then two one-shot
  // hashes over buffers already laid out, instead of a keyed object per cursor.
  #scratch = Buffer.alloc(SCRATCH_BYTES);
  readonly #outer = Buffer.alloc(BLOCK_BYTES + DIGEST_BYTES);

  constructor(secrets: readonly Buffer[], maxLength: number) {
    this.#pads = secrets.map((secret) => {
      const key = Buffer.alloc(BLOCK_BYTES);
      (secret.length > BLOCK_BYTES ? hash('sha256', secret, 'buffer') : secret).copy(key);
      const inner = Buffer.alloc(BLOCK_BYTES);
      const outer = Buffer.alloc(BLOCK_BYTES);
      for (let i = 0; i < BLOCK_BYTES; i++) {
        inner[i] = (key[i] as number) ^ 0x36;
        outer[i] = (key[i] as number) ^ 0x5c;
      }
      return { inner, outer };
    });
    this.#maxLength = maxLength;
    this.#tagBytes = secrets.length > 0 ? SIGNED_TAG_BYTES : CHECKSUM_BYTES;
  }

  /**
   * Throws the `RangeError` `encode` would throw for these values, without making the cursor:
   * lets a page whose cursors are made later (when read) still fail when it is built.
   */
  checkLength(values: readonly KeyValue[]): void {
    // An upper bound first (3 bytes per UTF-16 unit): exact sizes only for long keys.
    let bound = 1 + this.#tagBytes + 5;
    for (const value of values) {
      bound +=
        typeof value === 'string' ? 6 + 3 * value.length : typeof value === 'bigint' ? 6 + value.toString().length : 9;
    }
    if (Math.ceil((bound * 4) / 3) <= this.#maxLength) return;
    let bytes = 1 + this.#tagBytes + varintLength(values.length);
    for (const value of values) {
      if (typeof value === 'string') {
        const length = Buffer.byteLength(value, 'utf8');
        bytes += 1 + varintLength(length) + length;
      } else if (typeof value === 'bigint') {
        const length = value.toString().length;
        bytes += 1 + varintLength(length) + length;
      } else bytes += typeof value === 'number' || value instanceof Date ? 9 : 1;
    }
    const length = Math.ceil((bytes * 4) / 3);
    if (length > this.#maxLength) throw tooLong(length, this.#maxLength);
  }

  encode(binding: Buffer, values: readonly KeyValue[]): string {
    const start = this.#prefix(binding);
    const end = this.#writeValues(values, start);
    const tag = this.#tag(this.#pads[0], end);
    this.#reserve(end + this.#tagBytes);
    const scratch = this.#scratch;
    tag.copy(scratch, end, 0, this.#tagBytes);
    // The cursor is `version ‖ values ‖ tag`: the version byte moves next to the values, over the
    // binding's last byte (rewritten by the next call).
    scratch[start - 1] = CURSOR_VERSION;
    const cursor = scratch.toString('base64url', start - 1, end + this.#tagBytes);
    // A cursor this paginator would refuse when it comes back is a configuration error: say so now.
    if (cursor.length > this.#maxLength) throw tooLong(cursor.length, this.#maxLength);
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
    const tagBytes = this.#tagBytes;
    if (bytes.length < 1 + tagBytes + 1) throw new InvalidCursorError(argument, 'malformed');
    if (bytes[0] !== CURSOR_VERSION) throw new InvalidCursorError(argument, 'unsupported-version');
    const body = bytes.subarray(1, bytes.length - tagBytes);
    const tag = bytes.subarray(bytes.length - tagBytes);
    const start = this.#prefix(binding);
    this.#reserve(start + body.length);
    body.copy(this.#scratch, start);
    const pads = this.#pads.length > 0 ? this.#pads : [undefined];
    let verified = false;
    for (const pad of pads) {
      // Constant-time compare; every secret is tried so timing says nothing about which matched.
      if (timingSafeEqual(this.#tag(pad, start + body.length).subarray(0, tagBytes), tag)) verified = true;
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

  /** Writes `version ‖ binding` after the pad block of the scratch buffer; returns where the values go. */
  #prefix(binding: Buffer): number {
    // A huge key (refused with a RangeError) grew the buffer: do not keep that memory.
    if (this.#scratch.length > SCRATCH_BYTES + 2 * this.#maxLength) this.#scratch = Buffer.alloc(SCRATCH_BYTES);
    const start = BLOCK_BYTES + 1 + binding.length;
    this.#reserve(start + 16);
    this.#scratch[BLOCK_BYTES] = CURSOR_VERSION;
    binding.copy(this.#scratch, BLOCK_BYTES + 1);
    return start;
  }

  /**
   * The full HMAC-SHA256 (or, without a secret, SHA-256 checksum) of the MAC input, scratch bytes
   * `BLOCK_BYTES` to `end`; callers keep its prefix. HMAC = H(key⊕opad ‖ H(key⊕ipad ‖ input)).
   */
  #tag(pad: { inner: Buffer; outer: Buffer } | undefined, end: number): Buffer {
    if (!pad) return hash('sha256', this.#scratch.subarray(BLOCK_BYTES, end), 'buffer');
    pad.inner.copy(this.#scratch, 0);
    const inner = hash('sha256', this.#scratch.subarray(0, end), 'buffer');
    pad.outer.copy(this.#outer, 0);
    inner.copy(this.#outer, BLOCK_BYTES);
    return hash('sha256', this.#outer, 'buffer');
  }

  #reserve(size: number): void {
    if (this.#scratch.length >= size) return;
    const grown = Buffer.alloc(Math.max(size, this.#scratch.length * 2));
    this.#scratch.copy(grown);
    this.#scratch = grown;
  }

  /** Writes the values' encoding at `offset`; returns where it ends. */
  #writeValues(values: readonly KeyValue[], offset: number): number {
    this.#reserve(offset + 5);
    let at = writeVarint(this.#scratch, offset, values.length);
    for (const value of values) {
      if (value === null) {
        this.#reserve(at + 1);
        this.#scratch[at++] = Tag.Null;
      } else if (typeof value === 'string') {
        const length = Buffer.byteLength(value, 'utf8');
        this.#reserve(at + 6 + length);
        this.#scratch[at] = Tag.String;
        at = writeVarint(this.#scratch, at + 1, length);
        at += this.#scratch.write(value, at, length, 'utf8');
      } else if (typeof value === 'number' || value instanceof Date) {
        this.#reserve(at + 9);
        this.#scratch[at] = typeof value === 'number' ? Tag.Number : Tag.Date;
        at = this.#scratch.writeDoubleBE(typeof value === 'number' ? value : value.getTime(), at + 1);
      } else if (typeof value === 'bigint') {
        const text = value.toString();
        this.#reserve(at + 6 + text.length);
        this.#scratch[at] = Tag.BigInt;
        at = writeVarint(this.#scratch, at + 1, text.length);
        at += this.#scratch.write(text, at, text.length, 'latin1');
      } else if (typeof value === 'boolean') {
        this.#reserve(at + 1);
        this.#scratch[at++] = value ? Tag.True : Tag.False;
      } else {
        throw new TypeError(
          `a sort key value must be a string, number, bigint, boolean, Date or null, got ${typeof value}`,
        );
      }
    }
    return at;
  }
}

/** SHA-256 of the identity a cursor is bound to (order + query). */
export function bindingDigest(identity: string): Buffer {
  return hash('sha256', identity, 'buffer');
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

function tooLong(length: number, maxLength: number): RangeError {
  return new RangeError(
    `a cursor would be ${length} characters, above maxCursorLength (${maxLength}): raise maxCursorLength or order by shorter keys`,
  );
}

function varintLength(n: number): number {
  let length = 1;
  for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 128)) length++;
  return length;
}

/** Writes `n` as a little-endian base-128 varint at `offset`; returns where it ends. */
function writeVarint(target: Buffer, offset: number, n: number): number {
  let at = offset;
  let rest = n;
  while (rest >= 0x80) {
    target[at++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  target[at++] = rest;
  return at;
}
