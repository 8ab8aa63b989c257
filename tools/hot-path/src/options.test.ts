import { describe, expect, test } from 'vitest';
import { wholeNumberOption } from './options.ts';

describe('wholeNumberOption', () => {
  test('returns a whole number in range', () => {
    expect(wholeNumberOption('createX', 'size', 5, { min: 1 })).toBe(5);
    expect(wholeNumberOption('createX', 'size', 0, { min: 0, max: 0 })).toBe(0);
    expect(wholeNumberOption('createX', 'attempts', Number.POSITIVE_INFINITY, { min: 1, infinite: true })).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  test.each([
    [0, { min: 1 }, 'createX: `size` must be a whole number >= 1, got 0'],
    [1.5, { min: 1 }, 'createX: `size` must be a whole number >= 1, got 1.5'],
    [Number.NaN, { min: 1 }, 'createX: `size` must be a whole number >= 1, got NaN'],
    ['5', { min: 1 }, 'createX: `size` must be a whole number >= 1, got "5"'],
    [undefined, { min: 1 }, 'createX: `size` must be a whole number >= 1, got undefined'],
    [{}, { min: 1 }, 'createX: `size` must be a whole number >= 1, got object'],
    [129, { min: 1, max: 128 }, 'createX: `size` must be a whole number from 1 to 128, got 129'],
    [Number.POSITIVE_INFINITY, { min: 1 }, 'createX: `size` must be a whole number >= 1, got Infinity'],
    [-1, { min: 1, infinite: true }, 'createX: `size` must be a whole number >= 1 (or Infinity), got -1'],
  ])('refuses %s with a TypeError that names the factory, option and value', (value, range, message) => {
    expect(() => wholeNumberOption('createX', 'size', value, range)).toThrow(new TypeError(message));
  });
});
