import { wholeNumberOption } from '@switchboard/hot-path';
import * as v from 'valibot';
import { confusableSkeleton } from './confusables.ts';
import { plainTextOfSanitized, sanitizeRichText } from './sanitize.ts';
import { type SpamCheckOptions, spamCheck } from './spam.ts';
import { type LengthUnit, normalizeText, storableTextCheck, textLength } from './text.ts';

/** A valibot schema taking `TInput` and producing `TOutput` (how the schemas here are typed). */
export type Schema<TInput, TOutput = TInput> = v.GenericSchema<TInput, TOutput>;

/** Names refused by default: they impersonate the service or collide with routes. */
export const RESERVED_USERNAMES: readonly string[] = Object.freeze([
  'admin',
  'administrator',
  'root',
  'system',
  'support',
  'help',
  'moderator',
  'mod',
  'staff',
  'official',
  'security',
  'abuse',
  'postmaster',
  'webmaster',
  'noreply',
  'no-reply',
  'api',
  'www',
  'me',
  'self',
  'null',
  'undefined',
  'anonymous',
  'everyone',
  'here',
  'channel',
]);

/** Options of {@link createUsernameSchema}. */
export interface UsernameOptions {
  /** In characters (all ASCII). @default 3 */
  minLength?: number;
  /** In characters (all ASCII). @default 32 */
  maxLength?: number;
  /** Names refused, compared lowercase. @default RESERVED_USERNAMES */
  reserved?: readonly string[];
}

const USERNAME = /^(?![.-])(?!.*[.-]{2})[a-z0-9_.-]+(?<![.-])$/;

/**
 * A username schema with your limits. Input is trimmed, NFKC-normalized (full-width `ａｌｉｃｅ`
 * becomes `alice`) and lowercased; the output is that canonical form, so uniqueness is
 * case-insensitive. Allowed: `a-z`, `0-9`, `_`, and `.`/`-` between other characters. Reserved
 * names are compared by {@link confusableSkeleton} (`adrnin` is `admin`). Uniqueness among your
 * users should be by skeleton too: store `confusableSkeleton(username)` under a unique index.
 */
export function createUsernameSchema(options: UsernameOptions = {}): Schema<string> {
  const minLength = wholeNumberOption('createUsernameSchema', 'minLength', options.minLength ?? 3, { min: 1 });
  const maxLength = wholeNumberOption('createUsernameSchema', 'maxLength', options.maxLength ?? 32, { min: minLength });
  // By skeleton: `adrnin` and `supp0rt` are as reserved as `admin` and `support`.
  const reserved = new Set((options.reserved ?? RESERVED_USERNAMES).map((name) => confusableSkeleton(name)));
  return v.pipe(
    v.string('must be a string'),
    storableTextCheck(),
    v.transform((value) => normalizeText(value).normalize('NFKC').trim().toLowerCase()),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const name = dataset.value;
      if (name.length < minLength || name.length > maxLength) {
        addIssue({ message: `must be ${minLength} to ${maxLength} characters` });
      } else if (!USERNAME.test(name)) {
        addIssue({
          message:
            'may contain only letters a-z, digits, "_", "." and "-" ("." and "-" not first, last or twice in a row)',
        });
      } else if (reserved.has(confusableSkeleton(name))) {
        addIssue({ message: 'is reserved' });
      }
    }),
  );
}

/** {@link createUsernameSchema} with the defaults: 3–32 characters, reserved names refused. */
export const usernameSchema: Schema<string> = createUsernameSchema();

/**
 * An email address: trimmed, at most 254 characters (the SMTP limit), checked by valibot's
 * `email` rule, then lowercased (the output is the canonical form to store and compare).
 */
export const emailSchema: Schema<string> = v.pipe(
  v.string('must be a string'),
  storableTextCheck(),
  v.trim(),
  v.maxLength(254, 'must be at most 254 characters'),
  v.email('must be a valid email address'),
  v.toLowerCase(),
);

// Invisible characters that make names look empty or identical to another one (zero-width
// space, word joiner, soft hyphen, Mongolian vowel separator, Hangul fillers). Zero-width
// (non-)joiners stay: emoji sequences and Persian, Indic scripts need them.
const INVISIBLE = /[\u00AD\u180E\u200B\u2060-\u2064\u115F\u1160\u3164\uFFA0]/g;
const STACKED_MARKS = /\p{M}{5,}/u;
// Where HTML would start a tag, an end tag, a comment or a declaration: `<` then a letter, `/`,
// `!` or `?`. Plain text such as `<3`, `a < b` or `<=` never matches.
const MARKUP = /<[a-z/!?]/i;
const PLAIN_TEXT_MESSAGE = 'must be plain text: markup such as "<b>" is not allowed (text such as "<3" is)';

/** Options of {@link createDisplayNameSchema}. */
export interface DisplayNameOptions {
  /** Maximum length, in `unit`. @default 64 */
  maxLength?: number;
  /** @default 'codePoints' */
  unit?: LengthUnit;
}

/**
 * A display name schema: NFC, control, bidi-override and invisible characters removed, any run
 * of whitespace (line breaks included) turned into one space, trimmed; then 1 to `maxLength`
 * characters, no more than 4 combining marks stacked on one character ("Zalgo" text), and plain
 * text: no markup tags (`<` followed by a letter, `/`, `!` or `?`); `<3` and `a < b` are fine.
 */
export function createDisplayNameSchema(options: DisplayNameOptions = {}): Schema<string> {
  const maxLength = wholeNumberOption('createDisplayNameSchema', 'maxLength', options.maxLength ?? 64, { min: 1 });
  const unit = options.unit ?? 'codePoints';
  return v.pipe(
    v.string('must be a string'),
    storableTextCheck(),
    v.transform((value) => normalizeText(value).replace(INVISIBLE, '').replace(/\s+/g, ' ').trim()),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const name = dataset.value;
      if (name.length === 0) addIssue({ message: 'must not be empty' });
      else if (textLength(name, unit) > maxLength) addIssue({ message: `must be at most ${maxLength} characters` });
      else if (STACKED_MARKS.test(name)) addIssue({ message: 'must not stack more than 4 accents on one character' });
      else if (MARKUP.test(name)) addIssue({ message: PLAIN_TEXT_MESSAGE });
    }),
  );
}

/** {@link createDisplayNameSchema} with the defaults: 1–64 code points. */
export const displayNameSchema: Schema<string> = createDisplayNameSchema();

/** Options of {@link messageContentSchema}. */
export interface MessageContentOptions {
  /**
   * `'html'`: rich text, sanitized with `sanitizeRichText` (the output is safe HTML).
   * `'text'`: plain text, NFC-normalized with control and bidi-override characters removed
   * (escape it when you render it).
   * @default 'html'
   */
  format?: 'html' | 'text';
  /**
   * Maximum length of the output (the sanitized HTML, markup included, as stored), measured
   * after sanitization, in `unit`.
   * @default 4000
   */
  maxLength?: number;
  /** @default 'codePoints' */
  unit?: LengthUnit;
  /**
   * Longest raw input accepted, in UTF-16 code units (`string.length`), checked before any
   * work: it bounds what sanitizing costs, since the real limit can only be checked after.
   * Leave room for markup that sanitizing removes (pasted rich text carries a lot).
   * @default 10 × maxLength, at least 10,000
   */
  maxInputLength?: number;
  /** Spam heuristics (see `spamCheck`): `true` for the defaults, or options. @default false */
  spam?: boolean | SpamCheckOptions;
}

/**
 * Chat message content. Order matters and is fixed: refuse characters a database cannot store
 * (NUL, lone surrogates; see `storableTextCheck`), sanitize (or normalize), trim, then refuse
 * empty messages (nothing visible) and outputs longer than `maxLength`. Measuring after
 * sanitizing means a payload cannot pass the check and then grow (entities expanded, links
 * canonicalized) or be judged by markup that is then removed. The output is what to store.
 * Idempotent: the output parses to itself.
 *
 * @example
 * const SendMessageInput = v.object({ chatId: uuidSchema, content: messageContentSchema({ maxLength: 2000 }) });
 */
export function messageContentSchema(options: MessageContentOptions = {}): Schema<string> {
  const format = options.format ?? 'html';
  if (format !== 'html' && format !== 'text')
    throw new TypeError(`format must be 'html' or 'text', got ${String(format)}`);
  const maxLength = wholeNumberOption('messageContentSchema', 'maxLength', options.maxLength ?? 4000, { min: 1 });
  const unit = options.unit ?? 'codePoints';
  if (unit !== 'codePoints' && unit !== 'graphemes') throw new TypeError(`unit must be 'codePoints' or 'graphemes'`);
  const spamOptions =
    options.spam === true ? {} : options.spam === false || options.spam === undefined ? undefined : options.spam;
  const spam = spamOptions === undefined ? undefined : spamCheck({ ...spamOptions, format });
  const visibleText = format === 'html' ? plainTextOfSanitized : (text: string) => text;
  const maxInputLength = wholeNumberOption(
    'messageContentSchema',
    'maxInputLength',
    options.maxInputLength ?? Math.max(10 * maxLength, 10_000),
    { min: 1 },
  );
  const base = v.pipe(
    v.string('must be a string'),
    v.maxLength(maxInputLength, `is too long (at most ${maxInputLength} characters before formatting is removed)`),
    storableTextCheck(),
    v.transform((value) => (format === 'html' ? sanitizeRichText(value) : normalizeText(value)).trim()),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      if (visibleText(dataset.value).trim().length === 0) addIssue({ message: 'must not be empty' });
      else if (textLength(dataset.value, unit) > maxLength) {
        addIssue({ message: `must be at most ${maxLength} characters` });
      }
    }),
  );
  return spam ? v.pipe(base, spam) : base;
}

/** Options of {@link createAttachmentsSchema}. */
export interface AttachmentsOptions {
  /** @default 10 */
  maxItems?: number;
  /** In characters of the normalized URL. @default 2048 */
  maxUrlLength?: number;
  /**
   * Hosts attachments may come from (exact, lowercase; e.g. your storage bucket's). When set,
   * any other host is refused. @default any host
   */
  allowedHosts?: readonly string[];
}

/**
 * A list of attachment URLs: at most `maxItems`, each an absolute `https:` URL without
 * credentials (`user:pass@`), at most `maxUrlLength` long, optionally from `allowedHosts`
 * only. Output: the URLs in their canonical (WHATWG-serialized) form.
 */
export function createAttachmentsSchema(options: AttachmentsOptions = {}): Schema<string[]> {
  const maxItems = wholeNumberOption('createAttachmentsSchema', 'maxItems', options.maxItems ?? 10, { min: 1 });
  const maxUrlLength = wholeNumberOption('createAttachmentsSchema', 'maxUrlLength', options.maxUrlLength ?? 2048, {
    min: 1,
  });
  const hosts = options.allowedHosts ? new Set(options.allowedHosts.map((host) => host.toLowerCase())) : undefined;
  const url = v.pipe(
    v.string('must be a string'),
    storableTextCheck(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      let parsed: URL;
      try {
        parsed = new URL(dataset.value.trim());
      } catch {
        addIssue({ message: 'must be an absolute https URL' });
        return NEVER;
      }
      if (parsed.protocol !== 'https:') addIssue({ message: 'must be an https URL' });
      else if (parsed.username !== '' || parsed.password !== '') addIssue({ message: 'must not contain credentials' });
      else if (hosts && !hosts.has(parsed.hostname))
        addIssue({ message: `must be hosted on ${[...hosts].join(', ')}` });
      else if (parsed.href.length > maxUrlLength) addIssue({ message: `must be at most ${maxUrlLength} characters` });
      else return parsed.href;
      return NEVER;
    }),
  );
  return v.pipe(
    v.array(url, 'must be a list'),
    v.maxLength(maxItems, `must have at most ${maxItems} attachments`),
  ) as Schema<string[]>;
}

/** {@link createAttachmentsSchema} with the defaults: at most 10 https URLs. */
export const attachmentsSchema: Schema<string[]> = createAttachmentsSchema();

/** A UUID (any version), trimmed; output lowercase (the canonical form). */
export const uuidSchema: Schema<string> = v.pipe(
  v.string('must be a string'),
  storableTextCheck(),
  v.trim(),
  v.uuid('must be a UUID'),
  v.toLowerCase(),
);

/** Relay connection arguments, as {@link paginationArgsSchema} outputs them (nulls removed). */
export interface PaginationArgs {
  first?: number;
  after?: string;
  last?: number;
  before?: string;
}

/** What {@link paginationArgsSchema} accepts (GraphQL passes `null` for explicit nulls). */
export interface PaginationArgsInput {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}

/** Options of {@link createPaginationArgsSchema}. */
export interface PaginationArgsOptions {
  /** Largest `first`/`last` accepted. @default 100 */
  maxPageSize?: number;
  /** Longest cursor accepted, in characters (cursors are opaque; this bounds the work). @default 512 */
  maxCursorLength?: number;
}

/**
 * Relay connection arguments `{ first, after, last, before }`: page sizes integers from 0 to
 * `maxPageSize`, cursors non-empty strings of at most `maxCursorLength`. `null` (what GraphQL
 * passes for an explicit null) counts as absent and is left out of the output. The cursor's
 * content is checked by whoever decodes it (e.g. `@switchboard/pagination`).
 */
export function createPaginationArgsSchema(
  options: PaginationArgsOptions = {},
): Schema<PaginationArgsInput, PaginationArgs> {
  const maxPageSize = wholeNumberOption('createPaginationArgsSchema', 'maxPageSize', options.maxPageSize ?? 100, {
    min: 1,
  });
  const maxCursorLength = wholeNumberOption(
    'createPaginationArgsSchema',
    'maxCursorLength',
    options.maxCursorLength ?? 512,
    { min: 1 },
  );
  const size = v.optional(
    v.nullable(
      v.pipe(
        v.number('must be a number'),
        v.integer('must be an integer'),
        v.minValue(0, 'must not be negative'),
        v.maxValue(maxPageSize, `must be at most ${maxPageSize}`),
      ),
    ),
  );
  const cursor = v.optional(
    v.nullable(
      v.pipe(
        v.string('must be a string'),
        storableTextCheck(),
        v.minLength(1, 'must not be empty'),
        v.maxLength(maxCursorLength, `must be at most ${maxCursorLength} characters`),
      ),
    ),
  );
  return v.pipe(
    v.object({ first: size, after: cursor, last: size, before: cursor }, 'must be an object'),
    v.transform((args) => {
      const out: PaginationArgs = {};
      if (args.first != null) out.first = args.first;
      if (args.after != null) out.after = args.after;
      if (args.last != null) out.last = args.last;
      if (args.before != null) out.before = args.before;
      return out;
    }),
  );
}

/** {@link createPaginationArgsSchema} with the defaults (page size ≤ 100, cursor ≤ 512 characters). */
export const paginationArgsSchema: Schema<PaginationArgsInput, PaginationArgs> = createPaginationArgsSchema();
