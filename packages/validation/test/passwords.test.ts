import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import {
  checkPassword,
  createPasswordBlocklist,
  DEFAULT_PASSWORD_BLOCKLIST,
  emailSchema,
  isCommonPassword,
  isValidationError,
  normalizePassword,
  parseInput,
  passwordContextCheck,
  passwordSchema,
  usernameSchema,
} from '../src/index.ts';

const messagesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (isValidationError(error)) return error.issues.map((issue) => issue.message);
    throw error;
  }
  return [];
};

describe('passwordSchema (NIST SP 800-63B-4)', () => {
  const schema = passwordSchema();

  test('requires 15 characters by default, counted in code points after NFKC', () => {
    expect(messagesOf(() => parseInput(schema, 'violet harbor'))).toEqual(['must be at least 15 characters']);
    expect(parseInput(schema, 'violet harbor m')).toBe('violet harbor m');
    // 15 emoji are 15 characters although they are 30 UTF-16 units.
    expect(parseInput(schema, '🦊🐙🌵🎻🧊🚲🪁🍄🐚🌋🛶🧭🪴🦔🎲')).toHaveLength(30);
    expect(messagesOf(() => parseInput(schema, '🦊🐙🌵🎻🧊🚲🪁🍄🐚🌋🛶🧭🪴🦔'))).toEqual([
      'must be at least 15 characters',
    ]);
  });

  test('allows 8 with minLength: 8 and refuses less than 8 as an option', () => {
    expect(parseInput(passwordSchema({ minLength: 8 }), 'vQ3!xr9#')).toBe('vQ3!xr9#');
    expect(() => passwordSchema({ minLength: 6 })).toThrow(TypeError);
    expect(() => passwordSchema({ maxLength: 32 })).toThrow(TypeError);
  });

  test('accepts 64 and up to 256 characters, refuses longer with a message (never truncates)', () => {
    const sixtyFour = 'Lantern quarry velvet orbit, tangerine lighthouse, opera tractor';
    expect(sixtyFour).toHaveLength(64);
    expect(parseInput(schema, sixtyFour)).toBe(sixtyFour);
    let seed = 7;
    const long = Array.from({ length: 256 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return String.fromCharCode(97 + ((seed >> 16) % 26));
    }).join('');
    expect(parseInput(schema, long)).toBe(long);
    expect(messagesOf(() => parseInput(schema, `${long}x`))).toEqual(['must be at most 256 characters']);
  });

  test('has no composition rules: spaces, lowercase only, any script are fine', () => {
    for (const password of [
      'violet harbor mints quietly',
      'ελληνικά κείμενα εδώ',
      'わたしのひみつのことばはこれです',
      'sevenwordsunderthemoonlightplain',
    ]) {
      expect(parseInput(schema, password)).toBe(password.normalize('NFKC'));
    }
  });

  test('outputs the NFKC form to hash, so equivalent inputs hash the same', () => {
    expect(parseInput(schema, 'ｆｕｌｌｗｉｄｔｈ ｖｉｏｌｅｔ ｈａｒｂｏｒ')).toBe('fullwidth violet harbor');
    expect(parseInput(schema, 'cafe\u0301 harbor mints')).toBe('café harbor mints');
    expect(normalizePassword('cafe\u0301')).toBe(normalizePassword('caf\u00e9'));
    // No trimming: spaces are part of the secret.
    expect(parseInput(schema, '  violet harbor mints  ')).toBe('  violet harbor mints  ');
  });

  test('refuses control characters instead of silently removing them', () => {
    expect(messagesOf(() => parseInput(schema, 'violet\u0000harbor mints'))).toEqual([
      'must not contain control characters',
    ]);
    expect(messagesOf(() => parseInput(schema, 'violet\u202Eharbor mints'))).toEqual([
      'must not contain control characters',
    ]);
  });

  test('refuses lone surrogates: not text, and they would hash as whatever an encoder replaced them with', () => {
    for (const password of ['violet\uD800harbor mints', 'violet harbor mints\uDC00']) {
      expect(messagesOf(() => parseInput(schema, password))).toEqual([
        'must not contain an unpaired UTF-16 surrogate (not valid Unicode)',
      ]);
      expect(checkPassword(password).map((problem) => problem.problem)).toEqual(['unpaired-surrogate']);
    }
    expect(checkPassword('violet harbor mints 👍🏽')).toEqual([]);
  });

  test('refuses common passwords that pass the length rule', () => {
    for (const password of [
      'passwordpassword',
      'Password123456789!',
      'P@ssw0rd P@ssw0rd',
      'qwertyuiopasdfghjkl',
      '1q2w3e4r5t6y7u8i9o0p',
      'aaaaaaaaaaaaaaaa',
      '123456789012345678',
      'abcdefghijklmnopq',
      'iloveyouiloveyou',
      'correcthorsebatterystaple',
      'dragonmonkeyshadow2024',
      'zyxwvutsrqponmlk',
      'letmeinletmeinletmein',
    ]) {
      expect(
        messagesOf(() => parseInput(schema, password)),
        password,
      ).toEqual(['is too common or too easy to guess: avoid known passwords, keyboard patterns and repetition']);
    }
  });

  test('a user blocklist adds to the shipped one, case-insensitively', () => {
    const custom = passwordSchema({ blockedWords: ['SwitchboardChat'] });
    expect(messagesOf(() => parseInput(custom, 'switchboardchat2026!'))).toHaveLength(1);
    expect(messagesOf(() => parseInput(custom, 'passwordpassword'))).toHaveLength(1);
    const only = createPasswordBlocklist(['tangerine-lighthouse'], { includeDefaults: false });
    expect(only.size).toBe(1);
    expect(isCommonPassword('Tangerine Lighthouse', { blocklist: only })).toBe(true);
    expect(isCommonPassword('password', { blocklist: only })).toBe(false);
  });

  test('context words: refuses a password based on them, allows one that merely contains them', () => {
    const forAlice = passwordSchema({ context: ['alice', 'alice.smith@example.com'] });
    expect(messagesOf(() => parseInput(forAlice, 'alice.smith@example.com'))).toEqual([
      'must not be based on your username, email address or the name of this service',
    ]);
    expect(messagesOf(() => parseInput(forAlice, 'AliceAlice2024!!'))).toHaveLength(1);
    expect(parseInput(forAlice, 'alice rides violet harbor trains')).toBe('alice rides violet harbor trains');
  });

  test('passwordContextCheck checks against sibling fields and reports on the password path', () => {
    const signUp = v.pipe(
      v.object({ username: usernameSchema, email: emailSchema, password: passwordSchema() }),
      passwordContextCheck({ password: 'password', context: ['username', 'email'], extraWords: ['switchboard'] }),
    );
    try {
      parseInput(signUp, { username: 'marguerite', email: 'm@example.com', password: 'Marguerite-2024-Marguerite' });
      expect.unreachable();
    } catch (error) {
      expect(isValidationError(error) && error.issues).toEqual([
        {
          path: ['password'],
          message: 'must not be based on your username, email address or the name of this service',
        },
      ]);
    }
    expect(
      parseInput(signUp, { username: 'marguerite', email: 'm@example.com', password: 'violet harbor mints quietly' }),
    ).toEqual({
      username: 'marguerite',
      email: 'm@example.com',
      password: 'violet harbor mints quietly',
    });
  });
});

describe('isCommonPassword and checkPassword', () => {
  test('the shipped list is compact, lowercase, and includes long entries that pass length rules', () => {
    expect(DEFAULT_PASSWORD_BLOCKLIST.length).toBeGreaterThan(300);
    expect(DEFAULT_PASSWORD_BLOCKLIST.length).toBeLessThan(2000);
    for (const word of DEFAULT_PASSWORD_BLOCKLIST) expect(word).toBe(word.toLowerCase());
    expect(DEFAULT_PASSWORD_BLOCKLIST.filter((word) => word.length >= 15).length).toBeGreaterThan(5);
  });

  test('catches variations of listed words: case, leetspeak, separators, digits and symbols at the ends', () => {
    for (const password of ['PASSWORD', 'p@55w0rd', 'pass-word', '2024password!!', 'Sunshine1!', 'm0nk3y']) {
      expect(isCommonPassword(password), password).toBe(true);
    }
    // Not on the list, and not made of listed pieces.
    expect(isCommonPassword('tr0ub4dor')).toBe(false);
  });

  test('does not flag ordinary passphrases and random strings', () => {
    for (const password of [
      'violet harbor mints quietly',
      'my cat is called Felix!',
      'gT7#kq2!Lm9$xV4w',
      'seaweed-tractor-opera-lamp',
    ]) {
      expect(isCommonPassword(password), password).toBe(false);
    }
  });

  test('checkPassword returns every problem with its message', () => {
    expect(checkPassword('qwerty')).toEqual([
      { problem: 'too-short', message: 'must be at least 15 characters' },
      {
        problem: 'common',
        message: 'is too common or too easy to guess: avoid known passwords, keyboard patterns and repetition',
      },
    ]);
    expect(checkPassword('violet harbor mints quietly')).toEqual([]);
  });

  test('judges the longest accepted input (a repeated unit) as common', () => {
    expect(checkPassword('ab1-'.repeat(64)).map((p) => p.problem)).toEqual(['common']);
    expect(checkPassword(`${'ab1-'.repeat(64)}x`).map((p) => p.problem)).toEqual(['too-long']);
  });
});
