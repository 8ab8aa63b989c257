import { wholeNumberOption } from '@switchboard/hot-path';
import * as v from 'valibot';
import { plainTextOfSanitized } from './sanitize.ts';

/** Options of {@link detectSpam} and {@link spamCheck}; each heuristic can be turned off with `false`. */
export interface SpamCheckOptions {
  /**
   * Longest run of one character allowed (`!!!!!!!!!!!!`, `aaaaaaaaaaaa`), in code points.
   * @default 12
   */
  maxRepeatedCharacters?: number | false;
  /**
   * Largest share of uppercase among cased letters (0–1), applied only to texts with at least
   * `minLettersForCaps` letters (a short "OK" or "LOL" is fine).
   * @default 0.7
   */
  maxCapsRatio?: number | false;
  /** @default 20 */
  minLettersForCaps?: number;
  /** Most links allowed: `<a href>` elements plus URLs written in the text. @default 3 */
  maxLinks?: number | false;
  /**
   * What the checked string is: sanitized HTML (as `sanitizeRichText` returns) or plain text,
   * where `<` and `&` are just characters.
   * @default 'html'
   */
  format?: 'html' | 'text';
}

/** One reason a text looks like spam: which heuristic, the value found and the limit. */
export interface SpamReason {
  readonly kind: 'repeated-characters' | 'caps-ratio' | 'links';
  /** Value measured: run length, uppercase ratio, or number of links. */
  readonly value: number;
  readonly limit: number;
  /** For a person: `'too many links (5, at most 3)'`. */
  readonly message: string;
}

interface ResolvedSpamOptions {
  maxRepeatedCharacters: number | false;
  maxCapsRatio: number | false;
  minLettersForCaps: number;
  maxLinks: number | false;
  format: 'html' | 'text';
}

function resolveSpamOptions(options: SpamCheckOptions): ResolvedSpamOptions {
  const resolved: ResolvedSpamOptions = {
    maxRepeatedCharacters: options.maxRepeatedCharacters ?? 12,
    maxCapsRatio: options.maxCapsRatio ?? 0.7,
    minLettersForCaps: options.minLettersForCaps ?? 20,
    maxLinks: options.maxLinks ?? 3,
    format: options.format ?? 'html',
  };
  const { maxRepeatedCharacters, maxCapsRatio, minLettersForCaps, maxLinks } = resolved;
  // `false` turns a check off; a number must be a whole one.
  if (maxRepeatedCharacters !== false)
    wholeNumberOption('spamCheck', 'maxRepeatedCharacters', maxRepeatedCharacters, { min: 1 });
  if (maxCapsRatio !== false && !(maxCapsRatio >= 0 && maxCapsRatio <= 1)) {
    throw new TypeError(`maxCapsRatio must be between 0 and 1 or false, got ${maxCapsRatio}`);
  }
  wholeNumberOption('spamCheck', 'minLettersForCaps', minLettersForCaps, { min: 1 });
  if (maxLinks !== false) wholeNumberOption('spamCheck', 'maxLinks', maxLinks, { min: 0 });
  if (resolved.format !== 'html' && resolved.format !== 'text') {
    throw new TypeError(`format must be 'html' or 'text', got ${String(resolved.format)}`);
  }
  return resolved;
}

const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const URL_IN_TEXT = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
const ANCHOR = /<a href="[^"]*" rel="[^"]*">(.*?)<\/a>/gs;

function longestRun(text: string): number {
  let longest = 0;
  let run = 0;
  let previous: string | undefined;
  for (const char of text) {
    if (char === previous && !/\s/.test(char)) run++;
    else run = 1;
    previous = char;
    if (run > longest) longest = run;
  }
  return longest;
}

function detect(input: string, o: ResolvedSpamOptions): SpamReason[] {
  const reasons: SpamReason[] = [];
  const sanitizedHtml = o.format === 'text' ? escapeText(input) : input;
  const text = plainTextOfSanitized(sanitizedHtml);
  if (o.maxRepeatedCharacters !== false) {
    const run = longestRun(text);
    if (run > o.maxRepeatedCharacters) {
      reasons.push({
        kind: 'repeated-characters',
        value: run,
        limit: o.maxRepeatedCharacters,
        message: `repeats one character too many times (${run} in a row, at most ${o.maxRepeatedCharacters})`,
      });
    }
  }
  if (o.maxCapsRatio !== false) {
    let upper = 0;
    let cased = 0;
    // URLs are not prose: their case says nothing about shouting.
    for (const char of text.replace(URL_IN_TEXT, ' ')) {
      const isUpper = char !== char.toLowerCase();
      if (isUpper || char !== char.toUpperCase()) {
        cased++;
        if (isUpper) upper++;
      }
    }
    const ratio = cased === 0 ? 0 : upper / cased;
    if (cased >= o.minLettersForCaps && ratio > o.maxCapsRatio) {
      reasons.push({
        kind: 'caps-ratio',
        value: ratio,
        limit: o.maxCapsRatio,
        message: `has too many capital letters (${Math.round(ratio * 100)}%, at most ${Math.round(o.maxCapsRatio * 100)}%)`,
      });
    }
  }
  if (o.maxLinks !== false) {
    // Links in markup count once each, wherever their text points; URLs typed as text count too.
    let anchors = 0;
    const outside = sanitizedHtml.replace(ANCHOR, () => {
      anchors++;
      return ' ';
    });
    const typed = plainTextOfSanitized(outside).match(URL_IN_TEXT)?.length ?? 0;
    const links = anchors + typed;
    if (links > o.maxLinks) {
      reasons.push({
        kind: 'links',
        value: links,
        limit: o.maxLinks,
        message: `has too many links (${links}, at most ${o.maxLinks})`,
      });
    }
  }
  return reasons;
}

/**
 * Spam heuristics on a message (HTML as produced by `sanitizeRichText`, or plain text with
 * `format: 'text'`): long
 * runs of one character, a high share of capital letters, many links. Returns the reasons
 * found, empty when none; deciding what to do (refuse, hold for moderation, rate-limit harder)
 * is yours.
 *
 * @example
 * detectSpam('BUY NOW!!!!!!!!!!!!!!!! http://a.example http://b.example http://c.example http://d.example');
 * // [{ kind: 'repeated-characters', ... }, { kind: 'caps-ratio', ... }, { kind: 'links', value: 4, ... }]
 */
export function detectSpam(message: string, options: SpamCheckOptions = {}): SpamReason[] {
  return detect(message, resolveSpamOptions(options));
}

/**
 * valibot action running {@link detectSpam}: each reason becomes an issue (`'looks like spam:
 * has too many links (5, at most 3)'`). Off unless you add it (or pass `spam` to
 * `messageContentSchema`). Place it after sanitization. Text length is counted in code points.
 *
 * @example
 * const content = v.pipe(messageContentSchema(), spamCheck({ maxLinks: 1 }));
 */
export function spamCheck(options: SpamCheckOptions = {}): v.RawCheckAction<string> {
  const resolved = resolveSpamOptions(options);
  return v.rawCheck<string>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const reason of detect(dataset.value, resolved)) addIssue({ message: `looks like spam: ${reason.message}` });
  });
}
