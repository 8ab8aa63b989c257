import { charCodeAt } from '@switchboard/hot-path';
import * as v from 'valibot';

/**
 * Characters removed from every user text this package handles:
 * - C0 controls except tab and line feed (carriage returns become line feeds first), DEL and
 *   C1 controls: invisible, and some terminals and log viewers act on them;
 * - bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they
 *   reorder how text is displayed, so what a reader sees differs from what was sent
 *   (the "Trojan Source" attack, CVE-2021-42574). The plain marks LRM, RLM and ALM stay: they
 *   cannot reorder anything and right-to-left writers need them;
 * - U+FEFF (byte order mark / zero-width no-break space), interlinear annotations
 *   (U+FFF9–U+FFFB), the noncharacters U+FFFE and U+FFFF, and lone UTF-16 surrogates (not text).
 */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFEFF\uFFF9-\uFFFB\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const LINE_BREAKS = /\r\n?|[\u2028\u2029]/g;
// Quick test so that clean text (nearly all of it) is returned without allocating.
const MAYBE_UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: see UNSAFE
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069\uD800-\uDFFF\uFEFF\uFFF9-\uFFFF]/;

/**
 * Removes the characters listed above and turns `\r\n`, `\r`, U+2028 and U+2029 into `\n`.
 * Keeps everything else, including emoji sequences (zero-width joiner, variation selectors,
 * tag characters).
 *
 * @example
 * stripUnsafeCharacters('user\u202Egnp.exe'); // 'usergnp.exe'
 */
export function stripUnsafeCharacters(text: string): string {
  if (!MAYBE_UNSAFE.test(text)) return text;
  return text.replace(LINE_BREAKS, '\n').replace(UNSAFE, '');
}

// Exactly what stripUnsafeCharacters changes, except surrogates: a surrogate in a pair (emoji)
// is kept, and isWellFormed finds the lone ones natively, faster than a pattern with lookarounds.
const UNSAFE_NOT_SURROGATE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: see UNSAFE
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028-\u202E\u2066-\u2069\uFEFF\uFFF9-\uFFFB\uFFFE\uFFFF]/;
// ES2024, in every Node this package supports, but not in the ES2023 lib it compiles against.
type WellFormedString = string & { isWellFormed(): boolean };

/**
 * Whether {@link normalizeText} would return `text` unchanged, found by scanning it rather than
 * building the result: no character {@link stripUnsafeCharacters} changes, and already NFC.
 */
export function isNormalizedText(text: string): boolean {
  if (MAYBE_UNSAFE.test(text) && (UNSAFE_NOT_SURROGATE.test(text) || !(text as WellFormedString).isWellFormed())) {
    return false;
  }
  return text.normalize('NFC') === text;
}

/**
 * {@link stripUnsafeCharacters}, then Unicode NFC normalization: the canonical form this
 * package stores for names and messages (NFC keeps what the user typed, only unifying
 * composed and decomposed spellings of the same characters). In this order because removing a
 * character can bring together two that compose; NFC never produces an unsafe character, so
 * the result is stable: `normalizeText(normalizeText(x)) === normalizeText(x)`.
 */
export function normalizeText(text: string): string {
  return stripUnsafeCharacters(text).normalize('NFC');
}

/** Unit in which text lengths are measured. UTF-16 code units (`string.length`) are never used. */
export type LengthUnit = 'codePoints' | 'graphemes';

let segmenter: Intl.Segmenter | undefined;

/**
 * The length of `text` in Unicode code points (default: what databases such as Postgres count
 * for `varchar(n)` and `char_length`) or in grapheme clusters (what a reader perceives as one
 * character: `👍🏽` is 1 grapheme, 2 code points, 4 UTF-16 units).
 */
export function textLength(text: string, unit: LengthUnit = 'codePoints'): number {
  if (unit === 'graphemes') {
    segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    let count = 0;
    for (const _ of segmenter.segment(text)) count++;
    return count;
  }
  let count = text.length;
  // Each surrogate pair is one code point stored in two UTF-16 units.
  for (let i = 0; i < text.length; i++) {
    const c = charCodeAt.call(text, i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = charCodeAt.call(text, i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/**
 * valibot transformation: {@link normalizeText} ({@link stripUnsafeCharacters} + NFC). Put it
 * first in a string pipe, before length checks.
 *
 * @example
 * const topic = v.pipe(v.string(), normalizeTextAction(), v.trim(), v.maxLength(200));
 */
export function normalizeTextAction(): v.TransformAction<string, string> {
  return v.transform(normalizeText);
}

/** valibot transformation: {@link stripUnsafeCharacters} without Unicode normalization. */
export function stripUnsafeCharactersAction(): v.TransformAction<string, string> {
  return v.transform(stripUnsafeCharacters);
}

/** Why {@link findUnstorableCharacter} refuses a character. */
export type UnstorableCharacterKind = 'nul' | 'lone-surrogate';

/** The first character of a string that a database cannot store, as {@link findUnstorableCharacter} reports it. */
export interface UnstorableCharacter {
  kind: UnstorableCharacterKind;
  /** Its index in UTF-16 code units. */
  index: number;
  /** What is wrong, for a person: `'must not contain the NUL character (U+0000)'`. */
  message: string;
}

// NUL: PostgreSQL's text types cannot hold it ("invalid byte sequence ... 0x00"). A lone
// surrogate has no UTF-8 encoding: drivers send U+FFFD or fail, so what is stored is not what was sent.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point
const MAYBE_UNSTORABLE = /[\u0000\uD800-\uDFFF]/;
const UNSTORABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: see MAYBE_UNSTORABLE
  /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The issue message for each kind of unstorable character (the schemas' and the yoga plugin's). */
export const UNSTORABLE_MESSAGES: Readonly<Record<UnstorableCharacterKind, string>> = {
  nul: 'must not contain the NUL character (U+0000)',
  'lone-surrogate': 'must not contain an unpaired UTF-16 surrogate (not valid Unicode)',
};

/**
 * The first character of `text` that PostgreSQL (or any UTF-8 store) cannot store as sent: NUL
 * (U+0000) or a lone UTF-16 surrogate; undefined when there is none (emoji and every other
 * valid character are fine). Clean text costs one regular expression test.
 *
 * @example
 * findUnstorableCharacter('a\u0000b'); // { kind: 'nul', index: 1, message: 'must not contain the NUL character (U+0000)' }
 */
export function findUnstorableCharacter(text: string): UnstorableCharacter | undefined {
  if (!MAYBE_UNSTORABLE.test(text)) return undefined;
  const match = UNSTORABLE.exec(text);
  if (match === null) return undefined;
  const kind: UnstorableCharacterKind = match[0] === '\u0000' ? 'nul' : 'lone-surrogate';
  return { kind, index: match.index, message: UNSTORABLE_MESSAGES[kind] };
}

/**
 * valibot check: refuses a string holding a character a database cannot store (see
 * {@link findUnstorableCharacter}) with an issue on the field, instead of the database failing
 * later with an error the client never sees. Every string schema of this package starts with it;
 * put it right after `v.string()` in your own.
 *
 * @example
 * const topic = v.pipe(v.string(), storableTextCheck(), normalizeTextAction(), v.maxLength(200));
 */
export function storableTextCheck(): v.RawCheckAction<string> {
  return v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const found = findUnstorableCharacter(dataset.value);
    if (found) addIssue({ message: found.message });
  });
}
