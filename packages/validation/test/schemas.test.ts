import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import {
  attachmentsSchema,
  confusableSkeleton,
  createAttachmentsSchema,
  createDisplayNameSchema,
  createPaginationArgsSchema,
  createUsernameSchema,
  detectSpam,
  displayNameSchema,
  emailSchema,
  messageContentSchema,
  paginationArgsSchema,
  parseInput,
  sanitizeRichText,
  spamCheck,
  textLength,
  usernameSchema,
  uuidSchema,
} from '../src/index.ts';

/** The issue messages for `value`, or [] when it parses. */
const issues = (schema: v.GenericSchema, value: unknown) => {
  const result = v.safeParse(schema, value);
  return result.success ? [] : result.issues.map((issue) => issue.message);
};

describe('characters a database cannot store (NUL, lone surrogates)', () => {
  const NUL = 'must not contain the NUL character (U+0000)';
  const SURROGATE = 'must not contain an unpaired UTF-16 surrogate (not valid Unicode)';
  const schemas: [string, v.GenericSchema, (bad: string) => unknown][] = [
    ['usernameSchema', usernameSchema, (bad) => `ali${bad}ce`],
    ['emailSchema', emailSchema, (bad) => `alice${bad}@example.com`],
    ['displayNameSchema', displayNameSchema, (bad) => `Zoé${bad}`],
    ['messageContentSchema', messageContentSchema(), (bad) => `<b>hi${bad}</b>`],
    ['messageContentSchema text', messageContentSchema({ format: 'text' }), (bad) => `hi${bad}`],
    ['uuidSchema', uuidSchema, (bad) => `0191f0c2-7a7b-7c3d-8e9f-0a1b2c3d4e5f${bad}`],
  ];

  test('every string schema refuses them with an issue instead of storing or silently changing them', () => {
    for (const [name, schema, input] of schemas) {
      expect(issues(schema, input('\u0000')), name).toEqual([NUL]);
      expect(issues(schema, input('\uD800')), name).toEqual([SURROGATE]);
      expect(issues(schema, input('\uDFFF')), name).toEqual([SURROGATE]);
      // A low surrogate before a high one is two lone surrogates, not a pair.
      expect(issues(schema, input('\uDC00\uD800')), name).toEqual([SURROGATE]);
    }
  });

  test('inside lists and objects, the issue carries the path of the field', () => {
    const attachments = v.safeParse(attachmentsSchema, ['https://a.example/x', 'https://a.example/\u0000']);
    expect(attachments.issues?.map((issue) => [issue.path?.[0]?.key, issue.message])).toEqual([[1, NUL]]);
    const pagination = v.safeParse(paginationArgsSchema, { first: 10, after: 'abc\uD800' });
    expect(pagination.issues?.map((issue) => [issue.path?.[0]?.key, issue.message])).toEqual([['after', SURROGATE]]);
    const input = v.object({ chatId: uuidSchema, content: messageContentSchema() });
    expect(() => parseInput(input, { chatId: '0191f0c2-7a7b-7c3d-8e9f-0a1b2c3d4e5f', content: 'a\u0000' })).toThrow(
      expect.objectContaining({ issues: [{ path: ['content'], message: NUL }] }),
    );
  });

  test('valid text passes: emoji (surrogate pairs), "<3", tabs and line breaks', () => {
    expect(parseInput(messageContentSchema(), 'I <3 this 👩🏽‍💻\tok\nyes')).toBe('I &lt;3 this 👩🏽‍💻\tok\nyes');
    expect(parseInput(messageContentSchema({ format: 'text' }), '<3 🏴󠁧󠁢󠁳󠁣󠁴󠁿')).toBe('<3 🏴󠁧󠁢󠁳󠁣󠁴󠁿');
    expect(parseInput(displayNameSchema, 'Zoé 👍🏽')).toBe('Zoé 👍🏽');
    expect(parseInput(paginationArgsSchema, { after: '😀' })).toEqual({ after: '😀' });
  });
});

describe('usernameSchema', () => {
  test('outputs the canonical form: trimmed, NFKC, lowercase', () => {
    expect(parseInput(usernameSchema, '  Alice_01 ')).toBe('alice_01');
    expect(parseInput(usernameSchema, 'ａｌｉｃｅ')).toBe('alice');
    expect(parseInput(usernameSchema, 'j.doe-2')).toBe('j.doe-2');
  });

  test('refuses bad characters, bad punctuation placement, wrong lengths and reserved names', () => {
    expect(issues(usernameSchema, 'al')).toEqual(['must be 3 to 32 characters']);
    expect(issues(usernameSchema, 'a'.repeat(33))).toEqual(['must be 3 to 32 characters']);
    for (const bad of [
      'al ice',
      'alice!',
      '.alice',
      'alice-',
      'al..ice',
      'al.-ice',
      'alicé',
      'аlice' /* Cyrillic а */,
    ]) {
      expect(issues(usernameSchema, bad), bad).toEqual([
        'may contain only letters a-z, digits, "_", "." and "-" ("." and "-" not first, last or twice in a row)',
      ]);
    }
    expect(issues(usernameSchema, 'Admin')).toEqual(['is reserved']);
    expect(issues(usernameSchema, 42)).toEqual(['must be a string']);
  });

  test('strips bidi overrides before checking, and takes custom limits and reserved names', () => {
    expect(parseInput(usernameSchema, 'ali\u202Ece')).toBe('alice');
    const custom = createUsernameSchema({ minLength: 5, maxLength: 8, reserved: ['bob123'] });
    expect(issues(custom, 'bob')).toEqual(['must be 5 to 8 characters']);
    expect(issues(custom, 'bob123')).toEqual(['is reserved']);
    expect(parseInput(custom, 'admin')).toBe('admin');
    expect(() => createUsernameSchema({ minLength: 0 })).toThrow(TypeError);
    expect(() => createUsernameSchema({ minLength: 5, maxLength: 4 })).toThrow(TypeError);
  });
});

describe('emailSchema', () => {
  test('trims and lowercases valid addresses', () => {
    expect(parseInput(emailSchema, ' Alice.Smith+chat@Example.COM ')).toBe('alice.smith+chat@example.com');
  });

  test('refuses invalid and over-long addresses', () => {
    for (const bad of ['alice', 'alice@', '@example.com', 'a b@example.com', 'alice@example', '<script>@x.com']) {
      expect(issues(emailSchema, bad), bad).toEqual(['must be a valid email address']);
    }
    expect(issues(emailSchema, `${'a'.repeat(250)}@x.io`)).toContain('must be at most 254 characters');
  });
});

describe('displayNameSchema', () => {
  test('normalizes: NFC, one line, invisible and bidi characters removed, trimmed', () => {
    expect(parseInput(displayNameSchema, '  Zoe\u0301\n  Martin\t ')).toBe('Zoé Martin');
    expect(parseInput(displayNameSchema, 'Ad\u200Bmin\u202E\u2066')).toBe('Admin');
    expect(parseInput(displayNameSchema, 'میلاد\u200Cی 👩‍💻')).toBe('میلاد\u200Cی 👩‍💻');
  });

  test('refuses empty (also once invisible characters are gone), too long and Zalgo names', () => {
    expect(issues(displayNameSchema, ' \u200B\u3164 ')).toEqual(['must not be empty']);
    expect(issues(displayNameSchema, 'x'.repeat(65))).toEqual(['must be at most 64 characters']);
    expect(issues(displayNameSchema, 'Z\u0301\u0302\u0303\u0304\u0305\u0306algo')).toEqual([
      'must not stack more than 4 accents on one character',
    ]);
    expect(parseInput(createDisplayNameSchema({ maxLength: 3, unit: 'graphemes' }), '👩‍👩‍👧‍👦👍🏽é')).toBe(
      '👩‍👩‍👧‍👦👍🏽é',
    );
  });
});

describe('messageContentSchema', () => {
  test('sanitizes HTML and outputs what to store', () => {
    expect(parseInput(messageContentSchema(), ' <b onclick="x()">hi</b> <script>alert(1)</script>')).toBe('<b>hi</b>');
  });

  test('measures the length after sanitizing, in code points', () => {
    const schema = messageContentSchema({ maxLength: 10 });
    // 40 characters of input, 2 after sanitizing: accepted.
    expect(parseInput(schema, '<script>alert("long payload")</script>ok')).toBe('ok');
    // 9 characters of input, 13 after sanitizing ('<' becomes '&lt;'): refused.
    expect(issues(schema, '<<<<<<<<x')).toEqual(['must be at most 10 characters']);
    // Emoji count as code points, not UTF-16 units.
    expect(parseInput(schema, '👍'.repeat(10))).toBe('👍'.repeat(10));
    expect(issues(schema, '👍'.repeat(11))).toEqual(['must be at most 10 characters']);
    expect(parseInput(messageContentSchema({ maxLength: 1, unit: 'graphemes' }), '👍🏽')).toBe('👍🏽');
  });

  test('refuses a raw input too long to be worth sanitizing, before sanitizing it', () => {
    const schema = messageContentSchema({ maxLength: 10, maxInputLength: 100 });
    expect(parseInput(schema, `<script>${'x'.repeat(80)}</script>ok`)).toBe('ok');
    expect(issues(schema, `<script>${'x'.repeat(90)}</script>ok`)).toEqual([
      'is too long (at most 100 characters before formatting is removed)',
    ]);
    // The default leaves ten times the limit for markup.
    expect(issues(messageContentSchema({ maxLength: 2000 }), `<b>${' '.repeat(20_000)}</b>x`)).toEqual([
      'is too long (at most 20000 characters before formatting is removed)',
    ]);
  });

  test('refuses messages with nothing visible', () => {
    for (const empty of ['', '   ', '<p></p>', '<script>x</script>', '<b> </b>', '\u202E']) {
      expect(issues(messageContentSchema(), empty), empty).toEqual(['must not be empty']);
    }
  });

  test("plain-text format normalizes but keeps '<' as a character", () => {
    const schema = messageContentSchema({ format: 'text', maxLength: 5 });
    expect(parseInput(schema, ' a<b\u202E ')).toBe('a<b');
    expect(issues(schema, '<<<<<<')).toEqual(['must be at most 5 characters']);
  });

  test('bad options throw TypeError at construction', () => {
    expect(() => messageContentSchema({ maxLength: 0 })).toThrow(TypeError);
    expect(() => messageContentSchema({ format: 'markdown' as 'html' })).toThrow(TypeError);
    expect(() => messageContentSchema({ spam: { maxCapsRatio: 2 } })).toThrow(TypeError);
  });

  test('never outputs more than the limit, and its output parses to itself (property)', () => {
    const html = fc
      .array(
        fc.oneof(
          fc.constantFrom('<b>', '</b>', '<a href="https://a.example/">', '</a>', '&amp;', '<', '👍🏽', 'é'),
          fc.string(),
        ),
        {
          maxLength: 20,
        },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(
        html,
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom('codePoints' as const, 'graphemes' as const),
        (input, maxLength, unit) => {
          const schema = messageContentSchema({ maxLength, unit });
          const result = v.safeParse(schema, input);
          if (!result.success) return;
          expect(textLength(result.output, unit)).toBeLessThanOrEqual(maxLength);
          expect(result.output).toBe(sanitizeRichText(input).trim());
          expect(parseInput(schema, result.output)).toBe(result.output);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('spam heuristics', () => {
  test('are off by default', () => {
    expect(parseInput(messageContentSchema(), 'BUY NOW!!!!!!!!!!!!!!!!!!!!!!!!!')).toBe(
      'BUY NOW!!!!!!!!!!!!!!!!!!!!!!!!!',
    );
  });

  test('detectSpam returns each reason with value and limit', () => {
    const links = Array.from({ length: 4 }, (_, i) => `https://x${i}.example`).join(' ');
    expect(detectSpam(`FREE MONEY CLICK HERE NOW FRIENDS!!!!!!!!!!!!!!!! ${links}`)).toEqual([
      {
        kind: 'repeated-characters',
        value: 16,
        limit: 12,
        message: 'repeats one character too many times (16 in a row, at most 12)',
      },
      { kind: 'caps-ratio', value: 1, limit: 0.7, message: 'has too many capital letters (100%, at most 70%)' },
      { kind: 'links', value: 4, limit: 3, message: 'has too many links (4, at most 3)' },
    ]);
    expect(detectSpam('hello there, how are you today? OK LOL')).toEqual([]);
  });

  test('counts each HTML link once, plus URLs typed as text', () => {
    const html = sanitizeRichText(
      '<a href="https://a.example/">https://a.example/</a> <a href="https://b.example/">b</a> see www.c.example',
    );
    expect(detectSpam(html, { maxLinks: 2 }).map((reason) => reason.value)).toEqual([3]);
    expect(detectSpam(html, { maxLinks: 3 })).toEqual([]);
  });

  test('each heuristic can be turned off; short shouting is not spam', () => {
    expect(detectSpam('AAAAAAAAAAAAAAAAAAAAAAAAAA', { maxRepeatedCharacters: false, maxCapsRatio: false })).toEqual([]);
    expect(detectSpam('OK LOL')).toEqual([]);
  });

  test('as an action, and through messageContentSchema({ spam }), each reason becomes an issue', () => {
    const schema = messageContentSchema({ spam: { maxLinks: 1 } });
    expect(issues(schema, '<a href="https://a.example/">a</a> <a href="https://b.example/">b</a>')).toEqual([
      'looks like spam: has too many links (2, at most 1)',
    ]);
    const textSchema = v.pipe(v.string(), spamCheck({ format: 'text', maxRepeatedCharacters: 3 }));
    expect(issues(textSchema, 'a<<<<b')).toEqual([
      'looks like spam: repeats one character too many times (4 in a row, at most 3)',
    ]);
  });
});

describe('attachmentsSchema', () => {
  test('accepts up to 10 https URLs, canonicalized', () => {
    expect(parseInput(attachmentsSchema, [' HTTPS://Files.Example/a b.png'])).toEqual([
      'https://files.example/a%20b.png',
    ]);
    const ten = Array.from({ length: 10 }, (_, i) => `https://files.example/${i}`);
    expect(parseInput(attachmentsSchema, ten)).toEqual(ten);
    expect(issues(attachmentsSchema, [...ten, 'https://files.example/10'])).toEqual([
      'must have at most 10 attachments',
    ]);
  });

  test('refuses other schemes, relative URLs and credentials, with the index in the path', () => {
    const result = v.safeParse(attachmentsSchema, [
      'https://ok.example/x',
      'http://files.example/a',
      'javascript:alert(1)',
      '/relative',
      'https://user:pw@files.example/',
      'data:image/png;base64,AAAA',
    ]);
    expect(result.success).toBe(false);
    expect(result.issues?.map((issue) => [issue.path?.[0]?.key, issue.message])).toEqual([
      [1, 'must be an https URL'],
      [2, 'must be an https URL'],
      [3, 'must be an absolute https URL'],
      [4, 'must not contain credentials'],
      [5, 'must be an https URL'],
    ]);
    expect(issues(attachmentsSchema, 'https://a.example/')).toEqual(['must be a list']);
  });

  test('can restrict hosts and lengths', () => {
    const schema = createAttachmentsSchema({ allowedHosts: ['cdn.example'], maxItems: 2, maxUrlLength: 40 });
    expect(parseInput(schema, ['https://cdn.example/a.png'])).toEqual(['https://cdn.example/a.png']);
    expect(issues(schema, ['https://evil.example/a.png'])).toEqual(['must be hosted on cdn.example']);
    expect(issues(schema, [`https://cdn.example/${'a'.repeat(40)}`])).toEqual(['must be at most 40 characters']);
  });
});

describe('uuidSchema', () => {
  test('accepts UUIDs in any case and outputs lowercase', () => {
    expect(parseInput(uuidSchema, ' 0191F0C2-7A7B-7C3D-8E9F-0A1B2C3D4E5F ')).toBe(
      '0191f0c2-7a7b-7c3d-8e9f-0a1b2c3d4e5f',
    );
  });

  test('refuses anything else', () => {
    for (const bad of [
      '',
      '1',
      '0191f0c2-7a7b-7c3d-8e9f-0a1b2c3d4e5',
      "' OR 1=1 --",
      '0191f0c27a7b7c3d8e9f0a1b2c3d4e5f',
    ]) {
      expect(issues(uuidSchema, bad), bad).toEqual(['must be a UUID']);
    }
  });
});

describe('paginationArgsSchema', () => {
  test('accepts Relay arguments and drops nulls', () => {
    expect(parseInput(paginationArgsSchema, { first: 10, after: 'abc', last: null, before: null })).toEqual({
      first: 10,
      after: 'abc',
    });
    expect(parseInput(paginationArgsSchema, {})).toEqual({});
    expect(parseInput(paginationArgsSchema, { last: 0, before: 'x' })).toEqual({ last: 0, before: 'x' });
  });

  test('refuses bad sizes and cursors, naming the argument', () => {
    const result = v.safeParse(paginationArgsSchema, { first: 101, last: -1, after: '', before: 'x'.repeat(513) });
    expect(result.issues?.map((issue) => [issue.path?.[0]?.key, issue.message])).toEqual([
      ['first', 'must be at most 100'],
      ['after', 'must not be empty'],
      ['last', 'must not be negative'],
      ['before', 'must be at most 512 characters'],
    ]);
    expect(issues(paginationArgsSchema, { first: 1.5 })).toEqual(['must be an integer']);
    expect(issues(createPaginationArgsSchema({ maxPageSize: 20 }), { first: 21 })).toEqual(['must be at most 20']);
  });
});

describe('confusable skeletons (UTS #39)', () => {
  test('ASCII look-alikes a username can still contain share a skeleton', () => {
    for (const [a, b] of [
      ['rnallory', 'mallory'],
      ['vvalter', 'walter'],
      ['b0b', 'bob'],
      ['a1ice', 'alice'],
      ['he11o', 'hello'],
    ]) {
      expect(confusableSkeleton(a as string), `${a} ~ ${b}`).toBe(confusableSkeleton(b as string));
    }
    expect(confusableSkeleton('alice')).not.toBe(confusableSkeleton('alicia'));
    expect(confusableSkeleton('bob')).not.toBe(confusableSkeleton('rob'));
  });

  test('other scripts and styled letters that look Latin share it too; case does not matter', () => {
    expect(confusableSkeleton('\u0430dmin')).toBe(confusableSkeleton('admin')); // Cyrillic а
    expect(confusableSkeleton('\u{1D41A}lice')).toBe(confusableSkeleton('alice')); // bold 𝐚
    expect(confusableSkeleton('ALICE')).toBe(confusableSkeleton('alice'));
  });

  test('reserved names are refused by skeleton', () => {
    for (const name of ['adrnin', 'rnoderator', 'supp0rt']) {
      expect(issues(createUsernameSchema({ reserved: ['admin', 'moderator', 'support'] }), name), name).toEqual([
        'is reserved',
      ]);
    }
  });
});

describe('display names are plain text', () => {
  test('markup tags are refused with a field error', () => {
    for (const name of ['<b>Bob</b>', 'Bob</span>', '<img src=x onerror=alert(1)>', 'a<!-- x -->', '<?xml', 'x<svg']) {
      expect(issues(displayNameSchema, name), name).toEqual([
        'must be plain text: markup such as "<b>" is not allowed (text such as "<3" is)',
      ]);
    }
  });

  test('text with angle brackets that is not markup stays allowed', () => {
    for (const name of ['I <3 cats', 'a < b', '<= 5', '2<3', '>_<']) {
      expect(issues(displayNameSchema, name), name).toEqual([]);
    }
  });
});
