import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { bindingDigest, CursorCodec, type KeyValue } from '../src/cursor.ts';
import { InvalidCursorError } from '../src/errors.ts';

// The cursor format written out plainly, the slow way, from its description in cursor.ts: cursors
// handed out before must keep verifying, and new ones must read the same, whatever the codec does
// to go faster.
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

function double(n: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(n);
  return bytes;
}

function referenceBody(values: readonly KeyValue[]): Buffer {
  const parts = [varint(values.length)];
  for (const value of values) {
    if (value === null) parts.push(Buffer.of(0));
    else if (typeof value === 'string') {
      const text = Buffer.from(value, 'utf8');
      parts.push(Buffer.of(1), varint(text.length), text);
    } else if (typeof value === 'number') parts.push(Buffer.of(2), double(value));
    else if (typeof value === 'bigint') {
      const text = Buffer.from(value.toString(), 'latin1');
      parts.push(Buffer.of(3), varint(text.length), text);
    } else if (typeof value === 'boolean') parts.push(Buffer.of(value ? 5 : 4));
    else parts.push(Buffer.of(6), double(value.getTime()));
  }
  return Buffer.concat(parts);
}

function referenceCursor(secret: Buffer | undefined, identity: string, values: readonly KeyValue[]): string {
  const binding = createHash('sha256').update(identity).digest();
  const body = referenceBody(values);
  const mac = secret ? createHmac('sha256', secret) : createHash('sha256');
  const tag = mac
    .update(Buffer.of(1))
    .update(binding)
    .update(body)
    .digest()
    .subarray(0, secret ? 16 : 8);
  return Buffer.concat([Buffer.of(1), body, tag]).toString('base64url');
}

const keyValue: fc.Arbitrary<KeyValue> = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.double(),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
  fc.boolean(),
  fc.date({ noInvalidDate: true }),
);

describe('CursorCodec', () => {
  // HMAC's key handling at the block size: shorter keys are padded, longer ones hashed first.
  const secrets = [
    undefined,
    Buffer.from('a-secret-of-at-least-16-bytes'),
    Buffer.alloc(64, 9),
    Buffer.alloc(65, 3),
    Buffer.alloc(100, 7),
  ];

  test('makes exactly the cursors of the documented format, and reads them back', () => {
    for (const secret of secrets) {
      const codec = new CursorCodec(secret ? [secret] : [], 1 << 20);
      fc.assert(
        fc.property(fc.string(), fc.array(keyValue, { minLength: 1, maxLength: 6 }), (identity, values) => {
          const binding = bindingDigest(identity);
          const cursor = codec.encode(binding, values);
          expect(cursor).toBe(referenceCursor(secret, identity, values));
          const decoded = codec.decode(cursor, binding, 'after', values.length);
          expect(decoded).toEqual(
            values.map((value) => (typeof value === 'string' ? Buffer.from(value).toString() : value)),
          );
        }),
      );
    }
  });

  test('one codec interleaving long and short cursors, bindings and verification stays exact', () => {
    const codec = new CursorCodec([], 1 << 20);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string(), fc.array(keyValue, { minLength: 1, maxLength: 3 })), { maxLength: 12 }),
        (calls) => {
          const made = calls.map(([identity, values]) => codec.encode(bindingDigest(identity), values));
          calls.forEach(([identity, values], i) => {
            expect(made[i]).toBe(referenceCursor(undefined, identity, values));
            expect(codec.decode(made[i], bindingDigest(identity), 'before', values.length)).toHaveLength(values.length);
          });
        },
      ),
    );
  });

  test('a key too long for maxCursorLength is a RangeError, and the codec keeps working after it', () => {
    const codec = new CursorCodec([], 1024);
    const binding = bindingDigest('list');
    expect(() => codec.encode(binding, ['x'.repeat(1_000_000), '1'])).toThrow(RangeError);
    for (const values of [
      ['a', '1'],
      ['é'.repeat(300), '2'],
      [null, '3'],
    ]) {
      expect(codec.encode(binding, values)).toBe(referenceCursor(undefined, 'list', values));
    }
  });

  test('a cursor of another binding or another secret is refused', () => {
    const signer = new CursorCodec([Buffer.from('a-secret-of-at-least-16-bytes')], 1024);
    const other = new CursorCodec([Buffer.from('another-secret-of-16-bytes!')], 1024);
    const cursor = signer.encode(bindingDigest('chat:1'), ['2024-01-01T00:00:00+00:00', '42']);
    const reason = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidCursorError);
        return (error as InvalidCursorError).reason;
      }
      return 'accepted';
    };
    expect(reason(() => signer.decode(cursor, bindingDigest('chat:2'), 'after', 2))).toBe('mismatch');
    expect(reason(() => other.decode(cursor, bindingDigest('chat:1'), 'after', 2))).toBe('mismatch');
    expect(signer.decode(cursor, bindingDigest('chat:1'), 'after', 2)).toEqual(['2024-01-01T00:00:00+00:00', '42']);
  });

  test('rotation: the first secret signs, every secret verifies, each exactly as HMAC-SHA256 with it', () => {
    const older = Buffer.alloc(70, 1);
    const newer = Buffer.from('the-newer-secret-of-16-bytes');
    const rotated = new CursorCodec([newer, older], 1024);
    const before = new CursorCodec([older], 1024);
    const binding = bindingDigest('chat:1');
    const values = ['2024-01-01T00:00:00.000001+00:00', '42'];
    const issuedBefore = before.encode(binding, values);
    expect(issuedBefore).toBe(referenceCursor(older, 'chat:1', values));
    expect(rotated.encode(binding, values)).toBe(referenceCursor(newer, 'chat:1', values));
    expect(rotated.decode(issuedBefore, binding, 'after', 2)).toEqual(values);
    expect(rotated.decode(rotated.encode(binding, values), binding, 'after', 2)).toEqual(values);
    // Verifying with one secret leaves nothing behind for the next: a cursor of neither is refused.
    const forged = new CursorCodec([Buffer.alloc(32, 5)], 1024).encode(binding, values);
    expect(() => rotated.decode(forged, binding, 'after', 2)).toThrow(InvalidCursorError);
    expect(rotated.encode(binding, ['x', '1'])).toBe(referenceCursor(newer, 'chat:1', ['x', '1']));
  });

  test('checkLength refuses exactly what encode refuses', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 300 }),
        fc.array(keyValue, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (maxLength, values, signed) => {
          const codec = new CursorCodec(signed ? [Buffer.alloc(32, 1)] : [], maxLength);
          const binding = bindingDigest('list');
          let encoded: unknown;
          let checked: unknown;
          try {
            codec.encode(binding, values);
          } catch (error) {
            encoded = error;
          }
          try {
            codec.checkLength(values);
          } catch (error) {
            checked = error;
          }
          expect(checked).toEqual(encoded);
        },
      ),
    );
  });
});
