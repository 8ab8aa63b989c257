import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import {
  findUnstorableCharacter,
  normalizeText,
  normalizeTextAction,
  storableTextCheck,
  stripUnsafeCharacters,
  textLength,
} from '../src/index.ts';
import { isNormalizedText } from '../src/text.ts';

const TROJAN_SOURCE = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069'];

describe('stripUnsafeCharacters', () => {
  test('removes every bidi embedding, override and isolate (Trojan Source)', () => {
    for (const char of TROJAN_SOURCE)
      expect(stripUnsafeCharacters(`a${char}b`), char.codePointAt(0)?.toString(16)).toBe('ab');
    // The attack from the paper: a comment that displays as code.
    expect(stripUnsafeCharacters('/*\u202E } \u2066if (isAdmin)\u2069 \u2066 begin admins only */')).toBe(
      '/* } if (isAdmin)  begin admins only */',
    );
  });

  test('removes C0 (except tab and line feed), DEL and C1 controls, BOM, noncharacters, lone surrogates', () => {
    expect(stripUnsafeCharacters('a\u0000b\u0007c\u001Bd\u007Fe\u0085f\u009Fg')).toBe('abcdefg');
    expect(stripUnsafeCharacters('\uFEFFx\uFFFEy\uFFFFz\uFFF9')).toBe('xyz');
    expect(stripUnsafeCharacters('a\uD800b\uDC00c')).toBe('abc');
    expect(stripUnsafeCharacters('tab\tand\nnewline')).toBe('tab\tand\nnewline');
  });

  test('turns CR LF, CR and Unicode line separators into LF', () => {
    expect(stripUnsafeCharacters('a\r\nb\rc\u2028d\u2029e')).toBe('a\nb\nc\nd\ne');
  });

  test('keeps emoji sequences, RTL marks and ordinary text unchanged (same string)', () => {
    const text = 'שלום\u200F 👩🏽‍💻 🏴󠁧󠁢󠁳󠁣󠁴󠁿 e\u0301 ﷽';
    expect(stripUnsafeCharacters(text)).toBe(text);
  });
});

describe('normalizeText', () => {
  test('NFC-normalizes after stripping', () => {
    expect(normalizeText('cafe\u0301')).toBe('café');
    // Stripping the override brings '>' and U+0338 together: they compose.
    expect(normalizeText('>\u202E\u0338')).toBe('\u226F');
  });

  test('is idempotent and never leaves an unsafe character (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const once = normalizeText(text);
        expect(normalizeText(once)).toBe(once);
        expect(stripUnsafeCharacters(once)).toBe(once);
        expect(once.normalize('NFC')).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  test('is usable as a valibot action', () => {
    const schema = v.pipe(v.string(), normalizeTextAction(), v.trim());
    expect(v.parse(schema, ' x\u202Ey ')).toBe('xy');
  });
});

describe('isNormalizedText', () => {
  // Every character stripUnsafeCharacters changes, the safe ones next to them, surrogates
  // paired and lone, and characters that compose under NFC.
  const edgeCharacter = fc.constantFrom(
    ...[0x00, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x1f, 0x20, 0x7e, 0x7f, 0x85, 0x9f, 0xa0],
    ...[0x2027, 0x2028, 0x2029, 0x202a, 0x202e, 0x202f, 0x2065, 0x2066, 0x2069, 0x206a, 0x200e, 0x200f],
    ...[0xfefe, 0xfeff, 0xfff8, 0xfff9, 0xfffb, 0xfffc, 0xfffd, 0xfffe, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff],
    ...[0x301, 0x316, 0x338, 0x3e, 0x3c, 0x65, 0xe9, 0x1100, 0x1161, 0x11a8, 0xac00, 0x0958, 0x0b47, 0x0b3e],
  );
  const edgeText = fc
    .array(
      fc.oneof(
        edgeCharacter.map((code) => String.fromCharCode(code)),
        fc.constantFrom('\uD83D\uDC4D', '\r\n', 'e\u0301'),
        fc.string({ unit: 'binary', maxLength: 3 }),
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join(''));

  test('is true exactly when normalizeText returns the text unchanged (property)', () => {
    fc.assert(
      fc.property(edgeText, (text) => {
        expect(isNormalizedText(text)).toBe(normalizeText(text) === text);
      }),
      { numRuns: 5000 },
    );
  });

  test('is false for each unsafe character, line break form and decomposed spelling; true for safe ones', () => {
    for (const unsafe of [
      '\u0000',
      '\u0007',
      '\r',
      '\u0085',
      '\u2028',
      '\u2029',
      '\u202E',
      '\u2066',
      '\uFEFF',
      '\uFFFB',
      '\uFFFF',
    ]) {
      expect(isNormalizedText(`a${unsafe}b`), unsafe.codePointAt(0)?.toString(16)).toBe(false);
    }
    for (const lone of ['\uD800', '\uDC00', '👍\uD83D', '\uDC4D👍'])
      expect(isNormalizedText(`a${lone}b`), lone).toBe(false);
    expect(isNormalizedText('cafe\u0301')).toBe(false);
    for (const safe of [
      '',
      'plain',
      'tab\tand\nnewline',
      'café 👩🏽‍💻',
      '\u200F\u200D',
      '\uFFFC\uFFFD',
      '\u2027\u202F',
    ]) {
      expect(isNormalizedText(safe), JSON.stringify(safe)).toBe(true);
    }
  });
});

describe('textLength', () => {
  test('counts code points by default and graphemes on request, never UTF-16 units', () => {
    expect(textLength('abc')).toBe(3);
    expect(textLength('👍🏽')).toBe(2);
    expect(textLength('👍🏽', 'graphemes')).toBe(1);
    expect(textLength('👩‍👩‍👧‍👦', 'graphemes')).toBe(1);
    expect(textLength('👩‍👩‍👧‍👦')).toBe(7);
    expect(textLength('e\u0301', 'graphemes')).toBe(1);
  });

  test('equals the code point count of the spread string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (text) => {
        expect(textLength(text)).toBe([...text].length);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('findUnstorableCharacter', () => {
  test('finds NUL and lone surrogates, with their index', () => {
    expect(findUnstorableCharacter('ab\u0000c')).toEqual({
      kind: 'nul',
      index: 2,
      message: 'must not contain the NUL character (U+0000)',
    });
    expect(findUnstorableCharacter('x\uD800')).toMatchObject({ kind: 'lone-surrogate', index: 1 });
    expect(findUnstorableCharacter('\uDC00y')).toMatchObject({ kind: 'lone-surrogate', index: 0 });
    expect(findUnstorableCharacter('\uDC00\uD800')).toMatchObject({ kind: 'lone-surrogate', index: 0 });
    expect(findUnstorableCharacter('👍\uD83D')).toMatchObject({ kind: 'lone-surrogate', index: 2 });
  });

  test('finds nothing in valid text, other controls included (they are storable)', () => {
    for (const text of ['', 'plain', '<3', '👩🏽‍💻 🏴󠁧󠁢󠁳󠁣󠁴󠁿', '\u0001\u001F\uFFFF', '\uD83D\uDC4D']) {
      expect(findUnstorableCharacter(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  test('agrees with the UTF-8 round trip (property): unstorable exactly when NUL or not well-formed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (text) => {
        const roundTrips = new TextDecoder().decode(new TextEncoder().encode(text)) === text;
        const storable = !text.includes('\u0000') && roundTrips;
        expect(findUnstorableCharacter(text) === undefined).toBe(storable);
      }),
      { numRuns: 2000 },
    );
  });

  test('storableTextCheck is the valibot form', () => {
    const schema = v.pipe(v.string(), storableTextCheck());
    expect(v.safeParse(schema, 'a\u0000').issues?.[0]?.message).toBe('must not contain the NUL character (U+0000)');
    expect(v.parse(schema, 'fine 👍')).toBe('fine 👍');
  });
});
