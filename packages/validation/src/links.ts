// Which links rich text keeps, and in what form: the scheme allow-list, the `rel` they get, and
// safeHref (the URL parser's verdict, with a shortcut for the plain links nearly all messages have).

/** The URL schemes a link may use (checked after the URL is parsed the way a browser parses it). */
export const LINK_PROTOCOLS: readonly string[] = Object.freeze(['http:', 'https:', 'mailto:']);

/** The `rel` every kept link gets, whatever the input said. */
export const LINK_REL = 'noopener noreferrer nofollow';

const ALLOWED_PROTOCOLS = new Set(LINK_PROTOCOLS);

/**
 * The href a browser would follow, if it is absolute, uses an allowed scheme and carries no
 * credentials; otherwise undefined. This is the sanitizer's scheme check (sanitize-html's own
 * filter only backs it up, see sanitizeRichText). `new URL` is the WHATWG URL parser browsers use:
 * it strips leading C0 controls and spaces, removes tabs and newlines anywhere, and lowercases
 * the scheme, so `java&#9;script:`, ` JaVaScRiPt:` and the like all come out as `javascript:`
 * and are refused. Without a base URL, relative and protocol-relative (`//host`) links do not
 * parse and are refused too. A user name or password (`https://bank.example@evil.example/`,
 * `https://user:pass@host/`, in any case or encoding: the parser decides where the host
 * starts, as the browser will) is refused: it makes a link read as another site, and
 * browsers send it as credentials. The serialized form is what we keep, so the output is
 * canonical (and idempotent). A link in the plain form nearly all links have
 * ({@link isPlainLink}) is kept as written without being parsed: the parser would accept it
 * and return it unchanged.
 */
export function safeHref(href: string | undefined): string | undefined {
  if (href === undefined) return undefined;
  return isPlainLink(href) ? href : parsedHref(href);
}

/** {@link safeHref} without the shortcut for plain links: what it answers for every href. */
export function parsedHref(href: string): string | undefined {
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

// The shapes nearly every link has, written so that the URL parser would return them unchanged
// and accept them: a lowercase `http`/`https` scheme and `//`, a host of lowercase ASCII
// letters, digits, hyphens and dots (no label empty or starting `xn--`, which would be
// punycode-decoded; the last label starts with a letter, so the host is never read as an IPv4
// address), no port, no `@` anywhere (so no credentials), then a path, query and fragment of
// characters that no percent-encode set of the parser contains (no space, quote, backslash,
// control or non-ASCII character). Or `mailto:` and a plain address, no query.
const PLAIN_WEB_LINK =
  /^https?:\/\/(?:(?!xn--)[a-z0-9-]+\.)*(?!xn--)[a-z][a-z0-9-]*\/[\w\-.~!$&()*+,;=:/%]*(?:\?[\w\-.~!$&()*+,;=:/%?]*)?(?:#[\w\-.~!$&()*+,;=:/%?]*)?$/;
const PLAIN_MAILTO = /^mailto:[\w.+-]+@[a-zA-Z0-9.-]+$/;
// A `.` or `%2e` starting a path segment can make a dot segment, which the parser removes.
const MAYBE_DOT_SEGMENT = /\/\.|%2e/i;

/**
 * Whether `href` is an allowed link that the URL parser would serialize exactly as written, so
 * {@link safeHref} can keep it without parsing it (property-tested against the parser). Anything
 * else, tricky or merely unusual, goes through the parser.
 */
export function isPlainLink(href: string): boolean {
  return (PLAIN_WEB_LINK.test(href) && !MAYBE_DOT_SEGMENT.test(href)) || PLAIN_MAILTO.test(href);
}

const AUTHORITY = /^[a-z][a-z0-9+.-]*:[\\/]{2}/i;

// Ignoring tabs and newlines anywhere and whitespace at the ends, as the URL parser does. An
// href that starts with the scheme and `//` as written (nearly all) needs no cleaned copy:
// cleaning cannot change that prefix.
const writesAuthority = (href: string) => AUTHORITY.test(href) || AUTHORITY.test(href.replace(/[\t\n\r]/g, '').trim());
