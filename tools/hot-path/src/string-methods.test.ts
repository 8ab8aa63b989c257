import { describe, expect, test } from 'vitest';
import { charCodeAt, indexOf, slice, startsWith } from './string-methods.ts';

describe('saved String methods', () => {
  test('behave as the prototype methods, also once a String subclass exists (what Redis clients define)', () => {
    class VerbatimString extends String {
      format = 'txt';
    }
    expect(new VerbatimString('x').format).toBe('txt');
    const text = 'héllo 👍 world';
    for (let i = 0; i < text.length; i++) expect(charCodeAt.call(text, i)).toBe(text.charCodeAt(i));
    expect(indexOf.call(text, 'world')).toBe(text.indexOf('world'));
    expect(indexOf.call(text, 'o', 5)).toBe(text.indexOf('o', 5));
    expect(slice.call(text, 2, 9)).toBe(text.slice(2, 9));
    expect(startsWith.call(text, 'héllo')).toBe(true);
    expect(startsWith.call(text, 'world', 9)).toBe(true);
  });
});
