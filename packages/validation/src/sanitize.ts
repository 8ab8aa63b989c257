import { indexOf, slice, startsWith } from '@switchboard/hot-path';
import sanitizeHtml from 'sanitize-html';
import { LINK_REL, safeHref } from './links.ts';
import { isNormalizedText, normalizeText } from './text.ts';

export { isPlainLink, LINK_PROTOCOLS, LINK_REL, parsedHref, safeHref } from './links.ts';

/** The elements {@link sanitizeRichText} keeps. Everything else is removed (its text is kept). */
export const RICH_TEXT_TAGS: readonly string[] = Object.freeze([
  'b',
  'i',
  'em',
  'strong',
  'code',
  'pre',
  'br',
  'p',
  'a',
]);

/** Deepest element nesting {@link sanitizeRichText} keeps. */
export const MAX_NESTING = 20;

/**
 * Elements {@link sanitizeRichText} drops together with their content, because what they hold
 * is not text a reader should see (scripts, styles, form fallbacks, templates); any other element
 * outside {@link RICH_TEXT_TAGS} is dropped but its text kept.
 */
export const DROPPED_WITH_CONTENT: readonly string[] = Object.freeze([
  'script',
  'style',
  'textarea',
  'option',
  'select',
  'xmp',
  'noscript',
  'noembed',
  'noframes',
  'template',
  'title',
  'iframe',
  'object',
  'plaintext',
]);

// sanitize-html escapes text as exactly &amp; &lt; &gt; (and &quot; in attribute values).
const ESCAPED = /&(amp|lt|gt|quot);/g;
const UNESCAPE: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };
const unescapeText = (text: string) => text.replace(ESCAPED, (_, name: string) => UNESCAPE[name] as string);
const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** NFC and unsafe-character removal on one run of escaped text. */
function filterText(escaped: string): string {
  const text = unescapeText(escaped);
  const normalized = normalizeText(text);
  return normalized === text ? escaped : escapeText(normalized);
}

const TAG = /(<[^>]*>)/;

/**
 * NFC and unsafe-character removal on the decoded text between tags, never on the markup: NFC
 * over serialized HTML could join a `>` with a following U+0338 into `≯` and change how the
 * markup parses, and entities such as `&#x202E;` only become characters once decoded. Done on
 * the serialized output rather than per parser text event, because the parser splits one text
 * node at character references (`e&#x301;`), and NFC must see the whole run. The output's
 * markup is canonical (attribute values have `<`, `>` and `"` escaped), so splitting at tags
 * is exact.
 */
export function filterEachText(html: string): string {
  const parts = html.split(TAG);
  for (let i = 0; i < parts.length; i += 2) parts[i] = filterText(parts[i] as string);
  return parts.join('');
}

/**
 * {@link filterEachText}, skipped when one pass over the whole output proves it would change
 * nothing (nearly every message): no run of text can then hold an unsafe character, and each
 * run is NFC, because a piece of an NFC string cut before `<` and after `>` (characters that
 * start a new combining sequence) is NFC too. Decoding `&amp;` `&lt;` `&gt;` `&quot;` in a run
 * puts `&` `<` `>` `"` next to its neighbours, and of those only `<` and `>` compose, with a
 * following U+0338 (into `≮` `≯`): any U+0338 takes the slow path.
 */
export function filterOutput(html: string): string {
  if (!html.includes('\u0338') && isNormalizedText(html)) return html;
  return filterEachText(html);
}

/** sanitize-html's options for one pass of {@link sanitizeRichText} (not exported from the package). */
export const richTextOptions: sanitizeHtml.IOptions = {
  allowedTags: [...RICH_TEXT_TAGS],
  allowedAttributes: { a: ['href', 'rel'] },
  // The `a` transform below is the scheme check: an href stays only as safeHref returns it,
  // which sanitize-html's own scheme filter reads as `http:`, `https:` or `mailto:` (nothing
  // before the scheme, no whitespace or control character to strip), so that filter could never
  // refuse one (tested against a pass with it on). It is not asked to run again on each link.
  allowedSchemesAppliedToAttributes: [],
  selfClosing: ['br'],
  disallowedTagsMode: 'discard',
  nonTextTags: [...DROPPED_WITH_CONTENT],
  parseStyleAttributes: false,
  // Deeper elements are removed (their text kept): no chat message needs more, and thousands
  // of nested elements cost every reader's browser.
  nestingLimit: MAX_NESTING,
  transformTags: {
    a: (_tagName, attribs) => {
      const href = safeHref(attribs.href);
      // Renaming the element (to a disallowed one) would be simpler, but sanitize-html then
      // closes a later sibling with the new name: the unwrapping happens in finishPass, which
      // also adds `rel`.
      return { tagName: 'a', attribs: href === undefined ? {} : { href } };
    },
  },
};

/**
 * {@link richTextOptions} with sanitize-html's own scheme filter on as well: the second line of
 * defence, used only if an output link's `href` does not start as {@link safeHref} writes every
 * href it keeps (which would be a bug in safeHref). Exported for the tests, not from the package.
 */
export const schemeFilteredOptions: sanitizeHtml.IOptions = {
  ...richTextOptions,
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
};

// The fast path: text with no markup and no character reference parses to one text node,
// which the full path would escape and filter exactly like this (property-tested).
const NEEDS_PARSER = /[<&]/;

// What finishPass and reparsesDifferently track of each open element.
const OTHER = 0;
const LINK = 1;
const PARAGRAPH = 2;
const PRE = 3;
const UNWRAPPED = 4;
const endsName = (char: string | undefined) => char === ' ' || char === '>' || char === '/';

/**
 * The kind of the tag starting at `at` (a `<` of the output that is not `</`), or -1 for `<br />`
 * (which holds nothing). Every `<` of the output starts one of its tags (text and attribute
 * values have `<` escaped), and the tags are the allowed ones, so the characters after the `<`
 * tell which tag it is: no pattern has to match the whole tag. (Indexing the string is as fast
 * as the saved charCodeAt, and needs no look-up on String.prototype either.)
 */
function tagKind(output: string, at: number): number {
  const first = output[at + 1];
  const second = output[at + 2];
  if (first === 'a' && endsName(second)) return startsWith.call(output, ' href="', at + 2) ? LINK : UNWRAPPED;
  if (first === 'p') {
    if (endsName(second)) return PARAGRAPH;
    if (second === 'r' && output[at + 3] === 'e' && endsName(output[at + 4])) return PRE;
  }
  if (first === 'b' && second === 'r' && endsName(output[at + 3])) return -1;
  return OTHER;
}

// Whether sanitize-html's parser closes `parent` implicitly when a `kind` element opens inside it.
const closesImplicitly = (parent: number, kind: number) =>
  (kind === LINK && parent === LINK) || (parent === PARAGRAPH && (kind === PARAGRAPH || kind === PRE));

/**
 * Whether sanitize-html's parser (htmlparser2) would close an element implicitly when reading
 * this output: an `a` opened directly inside an `a`, or a `p` or `pre` directly inside a `p`.
 * Other nestings of the allowed elements parse back as written.
 */
export function reparsesDifferently(output: string): boolean {
  // The bottom entry stands for the outside of every element: reading below an array's start is slow.
  const stack: number[] = [OTHER];
  for (let at = indexOf.call(output, '<'); at !== -1; at = indexOf.call(output, '<', at + 1)) {
    if (output[at + 1] === '/') {
      stack.pop();
      continue;
    }
    let kind = tagKind(output, at);
    if (kind === -1) continue;
    if (kind === UNWRAPPED) kind = LINK;
    if (closesImplicitly(stack[stack.length - 1] as number, kind)) return true;
    stack.push(kind);
  }
  return false;
}

/** One sanitize-html pass's output, finished by {@link finishPass}. */
export interface FinishedPass {
  /** The output with `rel` on every link, and without the tags of links that kept no `href`. */
  html: string;
  /** Whether `html` has to go through sanitize-html again ({@link reparsesDifferently}). */
  reparsesDifferently: boolean;
  /**
   * Whether a link's `href` starts otherwise than `https://`, `http://` or `mailto:`, the forms
   * {@link safeHref} serializes every href it keeps to: never, unless safeHref has a bug.
   */
  unexpectedHref: boolean;
}

// The href starts 9 characters into `<a href="`.
const hasExpectedScheme = (output: string, at: number) =>
  startsWith.call(output, 'https://', at + 9) ||
  startsWith.call(output, 'http://', at + 9) ||
  startsWith.call(output, 'mailto:', at + 9);

const REL_ATTRIBUTE = ` rel="${LINK_REL}"`;

/**
 * Completes the links of one sanitize-html pass and finds whether the result reparses
 * differently, in one pass over the tags:
 * - each link with an `href` gets `rel` (added here rather than by the transform: sanitize-html
 *   would escape and check the same constant value on every link);
 * - each link the transform left without an `href` is unwrapped (a link that goes nowhere safe
 *   is not a link: its text stays, its `<a>` and `</a>` go). sanitize-html's `exclusiveFilter`
 *   could do it while parsing, but it runs on every closing tag and cuts the output mid-build.
 *   Exactly what that filter did: a link is unwrapped when sanitize-html closes it (writes its
 *   `</a>`); one it never closes keeps its `<a>` (and the nesting is then checked on the result
 *   as written).
 */
export function finishPass(output: string): FinishedPass {
  const stack: number[] = [OTHER];
  // The [start, end) of each unwrapped link's opening tag, until its closing tag is read.
  const opened: number[] = [];
  // What to change, as (start, end, text) triples: replace output[start, end) with text.
  const edits: (number | string)[] = [];
  let inOrder = true;
  let reparses = false;
  let unexpectedHref = false;
  for (let at = indexOf.call(output, '<'); at !== -1; at = indexOf.call(output, '<', at + 1)) {
    if (output[at + 1] === '/') {
      if (stack.pop() === UNWRAPPED) {
        const openEnd = opened.pop() as number;
        edits.push(opened.pop() as number, openEnd, '', at, at + '</a>'.length, '');
        inOrder = false;
      }
      continue;
    }
    const kind = tagKind(output, at);
    if (kind === -1) continue;
    // The tag's `>`: attribute values have `>` escaped.
    if (kind === LINK) {
      if (!hasExpectedScheme(output, at)) unexpectedHref = true;
      const end = indexOf.call(output, '>', at);
      edits.push(end, end, REL_ATTRIBUTE);
    }
    if (kind === UNWRAPPED) opened.push(at, indexOf.call(output, '>', at) + 1);
    else if (!reparses) {
      let parent = stack.length - 1;
      while (stack[parent] === UNWRAPPED) parent--;
      reparses = closesImplicitly(stack[parent] as number, kind);
    }
    stack.push(kind);
  }
  const html = edits.length === 0 ? output : edit(output, edits, inOrder);
  // A link never closed stays in the output as an element: check the nesting as written.
  return { html, reparsesDifferently: opened.length === 0 ? reparses : reparsesDifferently(html), unexpectedHref };
}

/** `text` with the (start, end, replacement) triples of `edits` applied (their ranges do not overlap). */
function edit(text: string, edits: (number | string)[], inOrder: boolean): string {
  const order: number[] = [];
  for (let i = 0; i < edits.length; i += 3) order.push(i);
  if (!inOrder) order.sort((a, b) => (edits[a] as number) - (edits[b] as number));
  const parts: string[] = [];
  let from = 0;
  for (const i of order) {
    parts.push(slice.call(text, from, edits[i] as number), edits[i + 2] as string);
    from = edits[i + 1] as number;
  }
  parts.push(slice.call(text, from));
  return parts.join('');
}

/**
 * Sanitizes user-supplied rich text (HTML) for storage and display, with
 * [sanitize-html](https://github.com/apostrophecms/sanitize-html) and an allow-list:
 *
 * - elements `b i em strong code pre br p a`; any other element is removed and its text kept,
 *   except elements whose content is code or metadata (`script`, `style`, `template`,
 *   `iframe`, `noscript`, `title`, ...), removed with their content; comments are removed;
 * - no attributes except on `a`: `href`, only when it is an absolute `http:`, `https:` or
 *   `mailto:` URL as a browser parses it, without credentials (relative and `//host` links,
 *   and `https://user:pass@host/` or `https://bank.example@evil.example/`, are refused; the URL
 *   is stored in its canonical serialized form), and `rel="noopener noreferrer nofollow"`,
 *   always set. A link without a valid `href` becomes its text;
 * - text is NFC-normalized, and control and bidirectional-override characters are removed
 *   (see {@link stripUnsafeCharacters}); `&`, `<`, `>` in text are escaped;
 * - elements nested deeper than {@link MAX_NESTING} levels are removed (their text kept).
 *
 * Idempotent: `sanitizeRichText(sanitizeRichText(x)) === sanitizeRichText(x)`.
 *
 * @example
 * sanitizeRichText('<b onclick="x()">hi</b> <a href="javascript:alert(1)">you</a>');
 * // '<b>hi</b> you'
 */
export function sanitizeRichText(html: string): string {
  if (typeof html !== 'string') throw new TypeError('sanitizeRichText expects a string');
  if (!NEEDS_PARSER.test(html)) return filterText(html.replace(/>/g, '&gt;'));
  let output = settledPasses(html, richTextOptions);
  // Defence in depth: safeHref is the scheme check, so sanitize-html's own is off; should a kept
  // href ever start otherwise than safeHref writes them, sanitize again with that filter on too.
  if (output.unexpectedHref) output = settledPasses(html, schemeFilteredOptions);
  return filterOutput(output.html);
}

/**
 * sanitize-html, then {@link finishPass}, until the output reads back as written. Removing an
 * element can leave, say, a <pre> directly inside a <p>, which the parser closes implicitly when
 * it reads the output again: settling such output makes sanitizing idempotent. Each pass only
 * closes elements, so this ends; the bound is a safety net.
 */
export function settledPasses(html: string, options: sanitizeHtml.IOptions): FinishedPass {
  let output = finishPass(sanitizeHtml(html, options));
  for (let pass = 0; pass < 8 && output.reparsesDifferently; pass++) {
    output = finishPass(sanitizeHtml(output.html, options));
  }
  return output;
}

/**
 * The text a reader sees in `html`, for notifications, previews and search: sanitized as by
 * {@link sanitizeRichText}, then without any markup, `<br>` and paragraph/`pre` ends as line
 * breaks, character references decoded (`&lt;` becomes `<`), trailing whitespace trimmed.
 *
 * The result is plain text, not HTML: escape it like any other string before putting it in a
 * page.
 *
 * @example
 * toPlainText('<p>Hello <b>there</b></p><p>a &lt; b</p>'); // 'Hello there\na < b'
 */
export function toPlainText(html: string): string {
  if (typeof html !== 'string') throw new TypeError('toPlainText expects a string');
  return plainTextOfSanitized(sanitizeRichText(html));
}

/**
 * Plain text of a string that is already the output of {@link sanitizeRichText}: its markup is
 * canonical (known tag names, attribute values with `<`, `>` and `"` escaped), so removing tags
 * with a pattern is exact here, unlike on arbitrary HTML.
 */
export function plainTextOfSanitized(sanitized: string): string {
  if (!sanitized.includes('<') && !sanitized.includes('&')) return sanitized.trimEnd();
  return unescapeText(
    sanitized
      .replace(/<br \/>/g, '\n')
      .replace(/<\/(?:p|pre)>/g, '\n')
      .replace(/<[^>]*>/g, ''),
  ).trimEnd();
}
