import sanitizeHtml from 'sanitize-html';
import { isNormalizedText, normalizeText } from './text.ts';

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

/** The URL schemes a link may use (checked after the URL is parsed the way a browser parses it). */
export const LINK_PROTOCOLS: readonly string[] = Object.freeze(['http:', 'https:', 'mailto:']);

/** The `rel` every kept link gets, whatever the input said. */
export const LINK_REL = 'noopener noreferrer nofollow';

const ALLOWED_PROTOCOLS = new Set(LINK_PROTOCOLS);

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

/**
 * The href a browser would follow, if it is absolute, uses an allowed scheme and carries no
 * credentials; otherwise undefined. This is the sanitizer's own check, not sanitize-html's
 * scheme filter (which it does not rely on). `new URL` is the WHATWG URL parser browsers use:
 * it strips leading C0 controls and spaces, removes tabs and newlines anywhere, and lowercases
 * the scheme, so `java&#9;script:`, ` JaVaScRiPt:` and the like all come out as `javascript:`
 * and are refused. Without a base URL, relative and protocol-relative (`//host`) links do not
 * parse and are refused too. A user name or password (`https://bank.example@evil.example/`,
 * `https://user:pass@host/`, in any case or encoding: the parser decides where the host
 * starts, as the browser will) is refused: it makes a link read as another site, and
 * browsers send it as credentials. The serialized form is what we keep, so the output is
 * canonical (and idempotent).
 */
export function safeHref(href: string | undefined): string | undefined {
  if (href === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  // `http:foo` parses as http://foo/ ; only keep links whose author wrote an authority.
  if (url.protocol !== 'mailto:' && !writesAuthority(href)) return undefined;
  return url.href;
}

const AUTHORITY = /^[a-z][a-z0-9+.-]*:[\\/]{2}/i;

// Ignoring tabs and newlines anywhere and whitespace at the ends, as the URL parser does. An
// href that starts with the scheme and `//` as written (nearly all) needs no cleaned copy:
// cleaning cannot change that prefix.
const writesAuthority = (href: string) => AUTHORITY.test(href) || AUTHORITY.test(href.replace(/[\t\n\r]/g, '').trim());

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

const richTextOptions: sanitizeHtml.IOptions = {
  allowedTags: [...RICH_TEXT_TAGS],
  allowedAttributes: { a: ['href', 'rel'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
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
      // closes a later sibling with the new name: the unwrapping happens in exclusiveFilter.
      return { tagName: 'a', attribs: href === undefined ? {} : { href, rel: LINK_REL } };
    },
  },
  // A link that goes nowhere safe is not a link: keep its text, drop the element.
  exclusiveFilter: (frame) => (frame.tag === 'a' && frame.attribs.href === undefined ? 'excludeTag' : false),
};

// The fast path: text with no markup and no character reference parses to one text node,
// which the full path would escape and filter exactly like this (property-tested).
const NEEDS_PARSER = /[<&]/;

// What reparsesDifferently tracks of each open element.
const OTHER = 0;
const LINK = 1;
const PARAGRAPH = 2;
const PRE = 3;
const endsName = (char: string | undefined) => char === ' ' || char === '>' || char === '/';

/**
 * Whether sanitize-html's parser (htmlparser2) would close an element implicitly when reading
 * this output: an `a` opened directly inside an `a`, or a `p` or `pre` directly inside a `p`.
 * Other nestings of the allowed elements parse back as written. Every `<` of the output starts
 * one of its tags (text and attribute values have `<` escaped), and the tags are the allowed
 * ones, well nested, so the characters after each `<` tell which tag it is: no pattern has to
 * match the whole tag.
 */
export function reparsesDifferently(output: string): boolean {
  const stack: number[] = [];
  for (let at = output.indexOf('<'); at !== -1; at = output.indexOf('<', at + 1)) {
    const first = output[at + 1];
    if (first === '/') {
      stack.pop();
      continue;
    }
    let kind = OTHER;
    if (first === 'a' && endsName(output[at + 2])) kind = LINK;
    else if (first === 'p' && endsName(output[at + 2])) kind = PARAGRAPH;
    else if (first === 'p' && output[at + 2] === 'r' && output[at + 3] === 'e' && endsName(output[at + 4])) kind = PRE;
    else if (first === 'b' && output[at + 2] === 'r' && endsName(output[at + 3])) continue;
    const top = stack[stack.length - 1];
    if ((kind === LINK && top === LINK) || (top === PARAGRAPH && (kind === PARAGRAPH || kind === PRE))) return true;
    stack.push(kind);
  }
  return false;
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
  let output = sanitizeHtml(html, richTextOptions);
  // Removing an element can leave, say, a <pre> directly inside a <p>, which the parser closes
  // implicitly when it reads the output again: settle such output so that sanitizing is
  // idempotent. Each pass only closes elements, so this ends; the bound is a safety net.
  for (let pass = 0; pass < 8 && reparsesDifferently(output); pass++) output = sanitizeHtml(output, richTextOptions);
  return filterOutput(output);
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
