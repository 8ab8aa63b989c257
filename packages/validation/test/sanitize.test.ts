import fc from 'fast-check';
import { JSDOM } from 'jsdom';
import sanitizeHtml from 'sanitize-html';
import { describe, expect, test } from 'vitest';
import {
  DROPPED_WITH_CONTENT,
  LINK_REL,
  MAX_NESTING,
  RICH_TEXT_TAGS,
  sanitizeRichText,
  toPlainText,
} from '../src/index.ts';
import {
  filterEachText,
  filterOutput,
  finishPass,
  isPlainLink,
  parsedHref,
  reparsesDifferently,
  richTextOptions,
  safeHref,
  schemeFilteredOptions,
  settledPasses,
} from '../src/sanitize.ts';
import { XSS_CORPUS, XSS_PAYLOADS } from './xss-corpus.ts';

const { window } = new JSDOM('');
const XHTML = 'http://www.w3.org/1999/xhtml';
const ALLOWED = new Set(RICH_TEXT_TAGS);
const EXECUTABLE_SCHEME = /^\s*(?:javascript|vbscript|data|livescript|blob|file|filesystem):/i;

/** Parses `html` the way a browser does (in a body) and returns its body. */
function parse(html: string): HTMLElement {
  const doc = window.document.implementation.createHTMLDocument();
  doc.body.innerHTML = html;
  return doc.body;
}

/** Every reason, found by walking the parsed DOM, that `html` could run script in a browser. */
function problemsOf(html: string): string[] {
  const body = parse(html);
  const problems: string[] = [];
  const walker = body.ownerDocument.createTreeWalker(
    body,
    window.NodeFilter.SHOW_ELEMENT | window.NodeFilter.SHOW_COMMENT,
  );
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeType === window.Node.COMMENT_NODE) {
      problems.push('comment');
      continue;
    }
    const element = node as Element;
    if (element.namespaceURI !== XHTML) problems.push(`foreign element ${element.namespaceURI} ${element.localName}`);
    if (!ALLOWED.has(element.localName)) problems.push(`element ${element.localName}`);
    for (const attribute of Array.from(element.attributes)) {
      if (element.localName !== 'a' || (attribute.name !== 'href' && attribute.name !== 'rel')) {
        problems.push(`attribute ${attribute.name} on ${element.localName}`);
      }
      if (EXECUTABLE_SCHEME.test(attribute.value)) problems.push(`executable URL in ${attribute.name}`);
    }
    if (element.localName === 'a') {
      const href = element.getAttribute('href');
      if (href === null) problems.push('link without href');
      else {
        // The browser's own URL parsing, against a base: relative links would resolve.
        const resolved = new window.URL(href, 'https://app.example/chat/1');
        const absolute = URL.canParse(href);
        if (!absolute) problems.push(`relative href ${href}`);
        if (!['http:', 'https:', 'mailto:'].includes(resolved.protocol))
          problems.push(`href scheme ${resolved.protocol}`);
        if (resolved.username !== '' || resolved.password !== '') problems.push('credentials in href');
      }
      if (element.getAttribute('rel') !== LINK_REL) problems.push(`rel ${element.getAttribute('rel')}`);
    }
  }
  if (body.ownerDocument.head.childNodes.length > 0) problems.push('content in head');
  return problems;
}

describe('sanitizeRichText against the XSS corpus', () => {
  test('the corpus has at least 100 payloads across the OWASP filter-evasion classes', () => {
    expect(XSS_PAYLOADS.length).toBeGreaterThanOrEqual(100);
    expect(Object.keys(XSS_CORPUS).length).toBeGreaterThanOrEqual(7);
  });

  for (const [group, payloads] of Object.entries(XSS_CORPUS)) {
    test(`no ${group} payload survives in a form a browser would execute`, () => {
      for (const payload of payloads) {
        const output = sanitizeRichText(payload);
        expect({ payload, output, problems: problemsOf(output) }).toEqual({ payload, output, problems: [] });
        // What a browser re-serializes from the output is just as clean (mutation XSS).
        const reparsed = parse(output).innerHTML;
        expect(problemsOf(reparsed), payload).toEqual([]);
        expect(sanitizeRichText(output), payload).toBe(output);
      }
    });
  }

  test('the structural check itself catches each kind of problem', () => {
    expect(problemsOf('<img src=x onerror=alert(1)>')).toEqual([
      'element img',
      'attribute src on img',
      'attribute onerror on img',
    ]);
    expect(problemsOf('<a href="javascript:alert(1)" rel="noopener noreferrer nofollow">x</a>')).toEqual([
      'executable URL in href',
      'relative href javascript:alert(1)'.replace('relative href javascript:alert(1)', 'href scheme javascript:'),
    ]);
    expect(problemsOf('<a href="/x" rel="noopener noreferrer nofollow">x</a>')).toEqual(['relative href /x']);
    expect(problemsOf('<svg><b>x</b></svg>')).toContain('element svg');
    expect(problemsOf('<!-- c --><a href="https://a.example/">x</a>')).toEqual(['comment', 'rel null']);
    expect(problemsOf(`<a href="https://bank.example@evil.example/" rel="${LINK_REL}">x</a>`)).toEqual([
      'credentials in href',
    ]);
  });
});

describe('sanitizeRichText policy', () => {
  test('keeps the allowed elements and drops their attributes', () => {
    const html =
      '<p class="x" id="y"><b>b</b> <i>i</i> <em>em</em> <strong>s</strong> <code>c</code><br></p><pre title="t">pre</pre>';
    expect(sanitizeRichText(html)).toBe(
      '<p><b>b</b> <i>i</i> <em>em</em> <strong>s</strong> <code>c</code><br /></p><pre>pre</pre>',
    );
  });

  test('removes other elements but keeps their text; drops script-like content entirely', () => {
    expect(sanitizeRichText('<div><span>hello</span> <u>world</u></div>')).toBe('hello world');
    expect(sanitizeRichText('a<script>alert(1)</script>b<style>p{}</style>c<template>t</template>d')).toBe('abcd');
  });

  test('keeps absolute http, https and mailto links in canonical form and forces rel', () => {
    expect(sanitizeRichText('<a href="HTTPS://Example.COM/a b" rel="opener" target="_blank">x</a>')).toBe(
      `<a href="https://example.com/a%20b" rel="${LINK_REL}">x</a>`,
    );
    expect(sanitizeRichText('<a href="http://example.com">x</a>')).toBe(
      `<a href="http://example.com/" rel="${LINK_REL}">x</a>`,
    );
    expect(sanitizeRichText('<a href="mailto:someone@example.com">x</a>')).toBe(
      `<a href="mailto:someone@example.com" rel="${LINK_REL}">x</a>`,
    );
  });

  test('turns relative, protocol-relative, authority-less and other-scheme links into their text', () => {
    for (const href of [
      '/chat/1',
      'chat/1',
      '//evil.example/x',
      '\\\\evil.example',
      'http:evil.example',
      'ftp://a.example/',
      'tel:123',
      '#top',
      '',
    ]) {
      expect(sanitizeRichText(`<a href="${href}">x</a>`), href).toBe('x');
    }
    expect(sanitizeRichText('<a>no href</a>')).toBe('no href');
  });

  test('drops links carrying a user name or password, in any case, encoding or spelling; keeps their text', () => {
    for (const href of [
      'https://user:pass@host.example/',
      'https://bank.example@evil.example/',
      'http://user@host.example',
      'https://user%40x:pw@host.example/',
      'HTTPS://a@b.example',
      'hTtP://A:B@host.example',
      'https://:pw@host.example/',
      'https://user:@host.example/',
      'https://a@b@c.example/',
      'https://b%D0%B0nk.example@evil.example/',
      'https://bаnk.example@evil.example/' /* Cyrillic а */,
      '  https://bank.example@evil.example/',
      'https://bank.example&#64;evil.example/',
      'https://bank.example&#x40;evil.example/',
      'https://bank.ex&#9;ample@evil.example/',
      'ht&#10;tps://user@host.example',
      'https:\\\\bank.example@evil.example/',
      'https:/\\bank.example@evil.example/',
      'https://bank.example:443@evil.example/',
      'http://[::1]@evil.example/',
      'mailto://user:pw@host.example',
      // '@' encoded or look-alike in the host is not a separator: no valid URL at all.
      'https://bank.example%40evil.example/',
      'https://bank.example\uFF20evil.example/',
    ]) {
      const output = sanitizeRichText(`<a href="${href}">Your bank</a>`);
      expect(output, href).toBe('Your bank');
    }
  });

  test('keeps links whose "@" is not in the authority, and drops an empty user part from the canonical URL', () => {
    for (const [href, kept] of [
      ['https://example.com/@alice', 'https://example.com/@alice'],
      ['https://example.com/?to=a@b.example#x@y', 'https://example.com/?to=a@b.example#x@y'],
      ['mailto:someone@example.com', 'mailto:someone@example.com'],
      // The browser's parser puts the host before the backslash: evil.example is where it goes, as shown.
      ['https://evil.example\\@bank.example/', 'https://evil.example/@bank.example/'],
      ['https://@host.example/', 'https://host.example/'],
      ['https://:@host.example/', 'https://host.example/'],
    ] as const) {
      expect(sanitizeRichText(`<a href="${href}">x</a>`), href).toBe(`<a href="${kept}" rel="${LINK_REL}">x</a>`);
    }
  });

  test('escapes text, including entity-encoded markup', () => {
    expect(sanitizeRichText('1 < 2 && 3 > 2')).toBe('1 &lt; 2 &amp;&amp; 3 &gt; 2');
    expect(sanitizeRichText('&lt;b&gt;not bold&lt;/b&gt;')).toBe('&lt;b&gt;not bold&lt;/b&gt;');
    expect(sanitizeRichText('caf&eacute; &#x1F44B;')).toBe('café 👋');
  });

  test('NFC-normalizes text and strips bidi overrides and control characters, also when entity-encoded', () => {
    expect(sanitizeRichText('cafe\u0301')).toBe('café');
    expect(sanitizeRichText('<b>cafe&#x301;</b>')).toBe('<b>café</b>');
    expect(sanitizeRichText('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeRichText('<i>a&#x202E;b&#x2066;c&#x7;d</i>')).toBe('<i>abcd</i>');
    expect(sanitizeRichText('keep\u200Fmarks\u200D👨\u200D👩')).toBe('keep\u200Fmarks\u200D👨\u200D👩');
  });

  test('never joins markup with a combining character', () => {
    const output = sanitizeRichText('<b>\u0338x</b>');
    expect(parse(output).querySelector('b')?.textContent).toBe('\u0338x');
    expect(sanitizeRichText(output)).toBe(output);
  });

  test('removes elements nested deeper than MAX_NESTING, keeping their text', () => {
    const deep = `${'<b>'.repeat(MAX_NESTING + 5)}x${'</b>'.repeat(MAX_NESTING + 5)}`;
    const output = sanitizeRichText(deep);
    expect(output).toBe(`${'<b>'.repeat(MAX_NESTING)}x${'</b>'.repeat(MAX_NESTING)}`);
    expect(sanitizeRichText(output)).toBe(output);
  });

  test('throws TypeError on a non-string', () => {
    expect(() => sanitizeRichText(42 as unknown as string)).toThrow(TypeError);
    expect(() => toPlainText(null as unknown as string)).toThrow(TypeError);
  });
});

describe("safeHref, the sanitizer's own URL check (independent of sanitize-html's scheme filter)", () => {
  test('refuses script-capable schemes in every spelling, even shaped like scheme://authority', () => {
    // Each of these has the 'scheme://' shape the authority check asks for: only the scheme
    // check itself refuses them.
    for (const href of [
      'javascript://%0Aalert(1)',
      'JavaScript://%0Aalert(document.cookie)',
      'JAVASCRIPT://example.com/%0Aalert(1)',
      ' javascript://%0Aalert(1)',
      '\u0001javascript://%0Aalert(1)',
      'java\tscript://%0Aalert(1)',
      'java\nscript://%0Aalert(1)',
      'java\rscript://%0Aalert(1)',
      'javascript\t://%0Aalert(1)',
      'data://text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
      'DATA://text/html,<script>alert(1)</script>',
      'vbscript://%0Amsgbox(1)',
      'VBScript://x%0Amsgbox(1)',
      'livescript://%0Aalert(1)',
      'blob://https://evil.example/uuid',
      'file:///etc/passwd',
      'filesystem://https://evil.example/x',
      'ftp://files.example/',
      'ws://evil.example/',
    ]) {
      expect(safeHref(href), JSON.stringify(href)).toBeUndefined();
    }
  });

  test('refuses the plain forms, relative links and nothing at all', () => {
    for (const href of [
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      ' jav\tascript:alert(1)',
      '/chat/1',
      '//evil.example/',
      '',
      undefined,
    ]) {
      expect(safeHref(href), JSON.stringify(href)).toBeUndefined();
    }
  });

  test('needs the authority as written, `scheme://`, however tabs, newlines and outer spaces split it', () => {
    for (const [href, kept] of [
      ['ht\ttps://example.com/a', 'https://example.com/a'],
      ['https:\t//example.com', 'https://example.com/'],
      ['https:/\n/example.com', 'https://example.com/'],
      [' \thttps://example.com ', 'https://example.com/'],
      ['https:\\\\example.com', 'https://example.com/'],
    ] as const) {
      expect(safeHref(href), JSON.stringify(href)).toBe(kept);
    }
    // Each parses as a URL on evil.example, but nobody wrote a link to a host.
    for (const href of [
      'http:evil.example',
      'http:/evil.example',
      'http:\\evil.example',
      'h\nttp:evil.example',
      'http:\t/evil.example',
    ]) {
      expect(safeHref(href), JSON.stringify(href)).toBeUndefined();
    }
  });

  test('accepts absolute http, https and mailto URLs, canonicalized', () => {
    expect(safeHref('HTTPS://Example.COM/a b')).toBe('https://example.com/a%20b');
    expect(safeHref(' http://example.com')).toBe('http://example.com/');
    expect(safeHref('mailto:someone@example.com')).toBe('mailto:someone@example.com');
  });
});

describe('toPlainText', () => {
  test('returns the visible text with line breaks for br and paragraphs', () => {
    expect(toPlainText('<p>Hello <b>there</b></p><p>a &lt; b &amp; c</p>')).toBe('Hello there\na < b & c');
    expect(toPlainText('one<br>two<script>alert(1)</script>')).toBe('one\ntwo');
    expect(toPlainText('<a href="https://a.example/">link</a> text')).toBe('link text');
    expect(toPlainText('plain')).toBe('plain');
  });
});

// Rich-text-like input: a mix of allowed and other tags, attributes, entities, odd characters.
const fragment = fc.oneof(
  fc.constantFrom(
    '<b>',
    '</b>',
    '<p>',
    '</p>',
    '<br>',
    '<a href="https://a.example/x?y=1&z=2">',
    '<a href="javascript:alert(1)">',
    '<a href="/rel">',
    '</a>',
    '<pre>',
    '</pre>',
    '<script>',
    '</script>',
    '<img src=x onerror=alert(1)>',
    '<svg>',
    '<!--',
    '-->',
    '&amp;',
    '&lt;',
    '&gt;',
    '&quot;',
    '&#x202E;',
    '&#0;',
    '&nbsp;',
    '&',
    '<',
    '>',
    '"',
    '\u0338',
    '\u202E',
    '\r\n',
    '\u0000',
    'e\u0301',
    'e',
    '&#x301;',
    '&#824;',
    '&#x2028;',
    '\u037E',
    '👍🏽',
    ' ',
  ),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
);
const richText = fc.array(fragment, { maxLength: 30 }).map((parts) => parts.join(''));
const noMarkupText = fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !/[<&]/.test(s));

describe('sanitizeRichText properties', () => {
  test('is idempotent', () => {
    fc.assert(
      fc.property(richText, (html) => {
        const once = sanitizeRichText(html);
        expect(sanitizeRichText(once)).toBe(once);
      }),
      { numRuns: 1500 },
    );
  });

  test('the output always passes the structural check', () => {
    fc.assert(
      fc.property(richText, (html) => {
        expect(problemsOf(sanitizeRichText(html))).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  test('the no-markup fast path gives exactly what the parser path gives', () => {
    fc.assert(
      fc.property(noMarkupText, (text) => {
        // '<b></b>' forces the parser; it adds exactly that markup and nothing else.
        expect(`<b></b>${sanitizeRichText(text)}`).toBe(sanitizeRichText(`<b></b>${text}`));
      }),
      { numRuns: 1500 },
    );
  });

  test('toPlainText output has no markup and is what a browser shows as text', () => {
    fc.assert(
      fc.property(richText, (html) => {
        const plain = toPlainText(html);
        const sanitized = sanitizeRichText(html);
        // Escaped, the plain text parses to text nodes only.
        const body = parse(plain.replace(/&/g, '&amp;').replace(/</g, '&lt;'));
        expect(body.children.length).toBe(0);
        // And it is the sanitized HTML's text content (line breaks aside).
        const strip = (s: string) => s.replace(/\s+/g, '');
        expect(strip(plain)).toBe(strip(parse(sanitized).textContent ?? ''));
      }),
      { numRuns: 500 },
    );
  });
});

// A long, clean message (the kind whose output skips the text filter and the settling parse):
// an attack appended to it must be caught exactly as in a short one.
const cleanParagraph = (i: number) =>
  `<p>Update ${i}: the <strong>migration</strong> for <code>messages_${i}</code> finished. Details in ` +
  `<a href="https://wiki.example.com/ops/runbook-${i}">the runbook</a> &amp; <a href="mailto:oncall@example.com">inbox</a>. ` +
  `<em>Note:</em> replicas caught up &lt; 1 s later. Thanks — <b>Zoé</b>!</p>`;
const cleanLong = Array.from({ length: 20 }, (_, i) => cleanParagraph(i)).join('\n');
const cleanLongOutput = sanitizeRichText(cleanLong);
const UNSAFE_CHARACTER =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028-\u202E\u2066-\u2069\uFEFF\uFFF9-\uFFFB\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The straightforward form of reparsesDifferently, as the oracle: match every tag, keep a stack. */
function closesImplicitly(output: string): boolean {
  const stack: string[] = [];
  for (const [, close, name] of output.matchAll(/<(\/?)([a-z]+)[^>]*>/g)) {
    if (name === 'br') continue;
    if (close) {
      stack.pop();
      continue;
    }
    const top = stack[stack.length - 1];
    if ((name === 'a' && top === 'a') || (top === 'p' && (name === 'p' || name === 'pre'))) return true;
    stack.push(name as string);
  }
  return false;
}

describe('sanitizeRichText skips its own passes only when they would change nothing', () => {
  test('the clean long message needs no change from them', () => {
    expect(cleanLongOutput.length).toBeGreaterThan(5000);
    expect(filterEachText(cleanLongOutput)).toBe(cleanLongOutput);
    expect(reparsesDifferently(cleanLongOutput)).toBe(false);
  });

  test('a Trojan Source or control character at the end of a long clean message is still removed', () => {
    for (const attack of [
      '\u202E',
      '&#x202E;',
      '&#8238;',
      '\u2066',
      '&#x2069;',
      '\u0007',
      '&#x1B;',
      '\u0085',
      '\uFEFF',
      '&#xFEFF;',
      '\uFFFE',
      '\uD800',
      '\uDC00',
    ]) {
      const output = sanitizeRichText(`${cleanLong}<b>x${attack}y</b>`);
      expect(output, JSON.stringify(attack)).toBe(`${cleanLongOutput}<b>xy</b>`);
      // In link text too, and next to an emoji (a surrogate pair that is kept).
      const linked = sanitizeRichText(`${cleanLong}<a href="https://a.example/">👍${attack}</a>`);
      expect(linked, JSON.stringify(attack)).toBe(
        `${cleanLongOutput}<a href="https://a.example/" rel="${LINK_REL}">👍</a>`,
      );
      expect(UNSAFE_CHARACTER.test(linked)).toBe(false);
    }
    expect(sanitizeRichText(`${cleanLong}<i>a\r\nb\u2028c</i>`)).toBe(`${cleanLongOutput}<i>a\nb\nc</i>`);
  });

  test('decomposed text at the end of a long clean message is still NFC, and never joined with markup', () => {
    expect(sanitizeRichText(`${cleanLong}<b>cafe\u0301</b>`)).toBe(`${cleanLongOutput}<b>café</b>`);
    expect(sanitizeRichText(`${cleanLong}<b>cafe&#x301;</b>`)).toBe(`${cleanLongOutput}<b>café</b>`);
    // U+0338 composes with a < or > of the text (which a reader sees as ≮ ≯) ...
    expect(sanitizeRichText(`${cleanLong}<b>a&lt;&#x338;b&gt;\u0338</b>`)).toBe(`${cleanLongOutput}<b>a≮b≯</b>`);
    // ... never with the > that ends a tag: the <b> stays an element.
    const output = sanitizeRichText(`${cleanLong}<b>\u0338x</b>`);
    expect(output).toBe(`${cleanLongOutput}<b>\u0338x</b>`);
    expect(parse(output).lastElementChild?.localName).toBe('b');
    expect(parse(output).lastElementChild?.textContent).toBe('\u0338x');
  });

  test('a removed element between a p and a pre, a p and a p, or two links is still settled in a long message', () => {
    for (const [attack, settled] of [
      ['<p>intro<span><pre>code</pre></span></p>', '<p>intro</p><pre>code</pre><p></p>'],
      ['<p>a<span><p>b</p></span></p>', '<p>a</p><p>b</p><p></p>'],
      [
        '<a href="https://a.example/">x<span><a href="https://b.example/">y</a></span></a>',
        `<a href="https://a.example/" rel="${LINK_REL}">x</a><a href="https://b.example/" rel="${LINK_REL}">y</a>`,
      ],
    ] as const) {
      const output = sanitizeRichText(`${cleanLong}${attack}`);
      expect(output, attack).toBe(`${cleanLongOutput}${settled}`);
      expect(sanitizeRichText(output), attack).toBe(output);
      expect(problemsOf(output), attack).toEqual([]);
    }
  });

  test('the output-wide check gives exactly what filtering each run of text gives (property)', () => {
    const piece = fc.oneof(
      fragment,
      fc.constantFrom(
        '<b>',
        '</b>',
        '<br />',
        `<a href="https://a.example/" rel="${LINK_REL}">`,
        '&lt;\u0338',
        '\u0301',
      ),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const html = parts.join('');
        expect(filterOutput(html)).toBe(filterEachText(html));
      }),
      { numRuns: 3000 },
    );
  });

  test('the nesting check reads each tag from its first letters exactly as matching the whole tag does (property)', () => {
    const { tree } = fc.letrec<{ tree: string }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('text', '&lt;p&gt;', '&lt;a ', '<br />'),
        fc
          .tuple(
            fc.constantFrom(
              '<b>',
              '<i>',
              '<em>',
              '<strong>',
              '<p>',
              '<pre>',
              '<code>',
              `<a href="https://a.example/" rel="${LINK_REL}">`,
            ),
            fc.array(tie('tree'), { maxLength: 4 }),
          )
          .map(([open, children]) => `${open}${children.join('')}</${open.slice(1, open.search(/[ >]/))}>`),
      ),
    }));
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 4 }), (trees) => {
        const output = trees.join('');
        expect(reparsesDifferently(output)).toBe(closesImplicitly(output));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('DROPPED_WITH_CONTENT', () => {
  test('each listed element goes with its content; an unlisted unknown element keeps its text', () => {
    for (const tag of DROPPED_WITH_CONTENT) {
      expect(sanitizeRichText(`<p>before <${tag}>hidden words</${tag}> after</p>`), tag).not.toContain('hidden');
    }
    expect(sanitizeRichText('<p>before <section>kept words</section> after</p>')).toContain('kept words');
    expect(Object.isFrozen(DROPPED_WITH_CONTENT)).toBe(true);
  });
});

// How links were checked and unwrapped before the shortcuts: every href through the URL parser
// (parsedHref), sanitize-html's scheme filter on each href kept, and its exclusiveFilter
// unwrapping, while it builds its output, each link it closes without an href. The shortcuts
// must give exactly what this gives.
const referenceOptions: sanitizeHtml.IOptions = {
  ...richTextOptions,
  // And sanitize-html's own scheme filter on every kept href, as it ran before.
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  transformTags: {
    a: (_tagName, attribs) => {
      const href = parsedHref(attribs.href ?? '');
      return { tagName: 'a', attribs: attribs.href === undefined || href === undefined ? {} : { href, rel: LINK_REL } };
    },
  },
  exclusiveFilter: (frame) => (frame.tag === 'a' && frame.attribs.href === undefined ? 'excludeTag' : false),
};
function referenceSanitize(html: string): string {
  if (!/[<&]/.test(html)) return sanitizeRichText(html);
  let output = sanitizeHtml(html, referenceOptions);
  for (let pass = 0; pass < 8 && reparsesDifferently(output); pass++) output = sanitizeHtml(output, referenceOptions);
  return filterOutput(output);
}

// Hrefs built from the pieces where URL parsing has corners: scheme spelling and separators,
// tabs and newlines, credentials, hosts the parser rewrites (case, IPv4 forms, punycode, IDN,
// trailing dots), ports, dot segments, characters a percent-encode set holds, and ends.
const hrefPiece = {
  lead: fc.constantFrom('', '', '', ' ', '\t', '\u0001', '\n'),
  scheme: fc.constantFrom(
    'https',
    'http',
    'https',
    'HTTPS',
    'hTtp',
    'mailto',
    'MAILTO',
    'javascript',
    'data',
    'ftp',
    'ws',
    'file',
    'java\tscript',
    'ht\ntps',
    'http\r',
    'https ',
  ),
  separator: fc.constantFrom('://', '://', ':', ':/', ':\\\\', ':/\\', ':\t//', ':/\n/', '://\t', ':///', ': //'),
  user: fc.constantFrom(
    '',
    '',
    '',
    'a@',
    'a:b@',
    '@',
    ':@',
    'bank.example@',
    'a%40b@',
    'user:pass@',
    'x\\@',
    'b%D0%B0nk@',
  ),
  host: fc.constantFrom(
    'example.com',
    'a.example',
    'wiki.example.com',
    'localhost',
    'EXAMPLE.com',
    'Example.COM',
    'xn--bcher-kva.example',
    'xn--a.example',
    'a.xn--zz',
    'XN--bcher-kva.example',
    'a..b',
    '.a.b',
    'a.b.',
    '127.0.0.1',
    '127.1',
    '0x7f.1',
    'a.0x1',
    'a.0x',
    'a.123',
    'a.09',
    '1.2.3.4.5',
    '999.1.1.1',
    'bücher.de',
    'exa mple.com',
    '[::1]',
    '[::ffff:127.0.0.1]',
    'a-.b-c',
    '-a.b',
    'a_b.com',
    'ex%41mple.com',
    'a%2eb.com',
    'evil.example%40bank.example',
    'bank.example\uFF20evil.example',
    'ａ.example',
    'a.example\u00AD',
    '',
  ),
  port: fc.constantFrom('', '', '', ':443', ':80', ':8080', ':0443', ':', ':99999', ':x'),
  path: fc.constantFrom(
    '/',
    '',
    '/a',
    '/ops/runbook-1',
    '/./a',
    '/../a',
    '/a/..',
    '/a/.',
    '/.well-known/x',
    '/%2e/a',
    '/%2E%2e/a',
    '/a.%2E/',
    '/a b',
    '/a\tb',
    "/a'b",
    '/a"b',
    '/a<b>',
    '/a`b',
    '/a{b}',
    '/a^b',
    '/a|b',
    '/a\\b',
    '/ü',
    '/%zz',
    '/%41',
    '/@x',
    '/a:b;c=d,e+f*g(h)!$~',
    '//double',
    '/a\u0000',
    '/\uD800',
  ),
  query: fc.constantFrom(
    '',
    '',
    '?',
    '?q=1&r=2',
    "?a'b",
    '?a"b',
    '?a b',
    '?x?y',
    '?to=a@b.example',
    '?%2e',
    '?<',
    '?ü',
  ),
  fragment: fc.constantFrom('', '', '#', '#top', '#a#b', '#a b', '#a`b', '#x?y', '#@', '#ü', '#"'),
  tail: fc.constantFrom('', '', '', ' ', '\t', '\n', '\u0000', '\u200B'),
};
const trickyHref = fc
  .record(hrefPiece)
  .map(({ lead, scheme, separator, user, host, port, path, query, fragment, tail }) =>
    scheme.toLowerCase().startsWith('mailto')
      ? `${lead}${scheme}:${user}${host.includes('@') ? host : `someone@${host}`}${query}${fragment}${tail}`
      : `${lead}${scheme}${separator}${user}${host}${port}${path}${query}${fragment}${tail}`,
  );
// The plain form with each host, path, query and fragment: where the shortcut is decided.
const nearlyPlainHref = fc
  .record({
    scheme: fc.constantFrom('https://', 'http://'),
    host: hrefPiece.host,
    port: hrefPiece.port,
    path: hrefPiece.path,
    query: hrefPiece.query,
    fragment: hrefPiece.fragment,
  })
  .map(({ scheme, host, port, path, query, fragment }) => `${scheme}${host}${port}${path}${query}${fragment}`);
// A plain link with arbitrary characters after it, where a shortcut that is too generous shows.
const plainThenAnything = fc
  .tuple(
    fc.constantFrom(
      'https://a.example/',
      'http://wiki.example.com/ops/',
      'https://x.example/p?q=',
      'mailto:a@b.example',
    ),
    fc.string({
      unit: fc.constantFrom(...'/.%2eE@:\\\'"`{}^|<> \t\n?#&=+;,!$~()*[]aZ9-_üé\u0000\u00A0\u2028\uFF0E'.split('')),
      maxLength: 8,
    }),
  )
  .map(([start, rest]) => start + rest);

describe('shortcuts of sanitizeRichText give exactly what the full path gives', () => {
  test('a plain link is kept as written only where the URL parser would keep it as written (property)', () => {
    fc.assert(
      fc.property(fc.oneof(trickyHref, nearlyPlainHref, plainThenAnything), (href) => {
        const parsed = parsedHref(href);
        if (isPlainLink(href)) expect(parsed, JSON.stringify(href)).toBe(href);
        expect(safeHref(href), JSON.stringify(href)).toBe(parsed);
      }),
      { numRuns: 20_000 },
    );
  });

  test('a link gives the same output as with every href parsed and scheme-filtered by sanitize-html too (property)', () => {
    const attribute = (href: string) => href.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    fc.assert(
      fc.property(fc.oneof(trickyHref, nearlyPlainHref, plainThenAnything), (href) => {
        const html = `<p>see <a href="${attribute(href)}">x</a></p>`;
        expect(sanitizeRichText(html), JSON.stringify(href)).toBe(referenceSanitize(html));
      }),
      { numRuns: 5000 },
    );
  });

  test('the links of real messages take the shortcut; tricky ones never do', () => {
    for (const href of [
      'https://wiki.example.com/ops/runbook-1',
      'https://ci.example.com/runs/4821',
      'http://localhost/a?b=c&d=e#f',
      'https://example.com/a%20b',
      'https://api.example.com/v2/items;id=3?sort=-created,name',
      'mailto:oncall@example.com',
      'mailto:first.last+tag@mail.example.org',
    ]) {
      expect(isPlainLink(href), href).toBe(true);
      expect(safeHref(href), href).toBe(href);
    }
    for (const href of [
      'https://a@b.example/',
      'https://a@b',
      'https://user:pass@host.example/',
      'HTTPS:\\\\evil.example/',
      'https:\\\\evil.example/',
      'https:/\\evil.example/',
      'ht\ttps://example.com/',
      'https:\t//example.com/',
      'https://example.com\n/',
      ' https://example.com/',
      'https://example.com/ ',
      'https://EXAMPLE.com/',
      'https://example.com',
      'https://example.com:443/',
      'https://127.1/',
      'https://0x7f.1/',
      'https://a.123/',
      'https://xn--bcher-kva.example/',
      'https://bücher.example/',
      'https://example.com/./a',
      'https://example.com/a/%2e%2e/b',
      "https://example.com/?a'b",
      'https://example.com/a b',
      'javascript://example.com/%0Aalert(1)',
      'data://example.com/x',
      'mailto://user:pw@host.example',
      'mailto:a@b.example?subject=hi',
      'MAILTO:a@b.example',
    ]) {
      expect(isPlainLink(href), JSON.stringify(href)).toBe(false);
      expect(safeHref(href), JSON.stringify(href)).toBe(parsedHref(href));
    }
  });

  test('unwrapping links after the pass gives what exclusiveFilter gave during it (property)', () => {
    const piece = fc.oneof(
      fragment,
      fc.constantFrom(
        '<a>',
        '<a href="">',
        '<a href="mailto:x@y.example">',
        '<a href="https://u@h.example/">',
        '<a href="HTTPS://Example.COM/a b">',
        '<a href="https://b.example/">',
        '<a href="javascript:alert(1)" rel="opener">',
        '<span>',
        '</span>',
        '<noscript>',
        '</noscript>',
        '<div>',
        '</div>',
        '<i>',
        '</i>',
        '<p><span><pre>x</pre></span></p>',
        '</p>',
        '</pre>',
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const html = parts.join('');
        expect(sanitizeRichText(html), html).toBe(referenceSanitize(html));
      }),
      { numRuns: 3000 },
    );
  });

  test('finishPass adds rel to each link, unwraps each closed link without an href, and checks a never-closed one as written', () => {
    // What sanitize-html writes for a link (the transform leaves rel to finishPass), and the result.
    const written = '<a href="https://a.example/?a=1&amp;b=&quot;&gt;">';
    const link = `<a href="https://a.example/?a=1&amp;b=&quot;&gt;" rel="${LINK_REL}">`;
    expect(finishPass(`<p><a>x</a> <a rel="${LINK_REL}">y</a>${written}z</a></p>`)).toEqual({
      html: `<p>x y${link}z</a></p>`,
      reparsesDifferently: false,
      unexpectedHref: false,
    });
    // With the links unwrapped, a p is left directly inside a p.
    expect(finishPass('<p>a<a><p>b</p></a></p>')).toEqual({
      html: '<p>a<p>b</p></p>',
      reparsesDifferently: true,
      unexpectedHref: false,
    });
    // The unwrapped link does not count as the parent of the link inside it.
    expect(finishPass(`<a>${written}x</a></a>`)).toEqual({
      html: `${link}x</a>`,
      reparsesDifferently: false,
      unexpectedHref: false,
    });
    // sanitize-html did not close it: the element stays, and a link inside a link reparses.
    expect(finishPass(`<a>x${written}y</a>`)).toEqual({
      html: `<a>x${link}y</a>`,
      reparsesDifferently: true,
      unexpectedHref: false,
    });
    expect(finishPass(`${written}a</a>${written}b</a>`).html).toBe(`${link}a</a>${link}b</a>`);
  });

  test('defence in depth: an output href that safeHref could not have written is flagged, and the fallback pass refuses it', () => {
    // What sanitize-html would write if safeHref had a bug and kept these.
    for (const href of [
      'javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      'data:text/html,x',
      '//evil.example/',
      'HTTPS://a/',
      ' https://a/',
    ]) {
      const written = `<p><a href="${href}">x</a></p>`;
      expect(finishPass(written).unexpectedHref, href).toBe(true);
    }
    for (const href of ['https://a.example/', 'http://a.example/', 'mailto:a@b.example']) {
      expect(finishPass(`<a href="${href}">x</a>`).unexpectedHref, href).toBe(false);
    }
    // The fallback: sanitize-html's own scheme filter drops the href, and the link is unwrapped.
    for (const html of [
      '<a href="javascript:alert(1)">x</a>',
      '<a href="java\tscript:alert(1)">x</a>',
      '<a href="//evil.example/">x</a>',
    ]) {
      const output = settledPasses(html, schemeFilteredOptions);
      expect(output.html, html).toBe('x');
      expect(output.unexpectedHref).toBe(false);
    }
    // Real hrefs pass the fallback as they pass the fast pass.
    const real = '<p><a href="https://a.example/x?y=1#z">x</a> <a href="mailto:a@b.example">m</a></p>';
    expect(settledPasses(real, schemeFilteredOptions).html).toBe(sanitizeRichText(real));
  });

  test('in deep nesting, at the nesting limit, and in the benchmark-like long message too', () => {
    const deep = (open: string, close: string, n: number) => `${open.repeat(n)}x${close.repeat(n)}`;
    for (const html of [
      deep('<a>', '</a>', MAX_NESTING + 3),
      deep('<a href="https://a.example/">', '</a>', MAX_NESTING + 3),
      deep('<p><a href="javascript:x">', '</a></p>', MAX_NESTING),
      deep('<b><a>', '</a></b>', MAX_NESTING),
      `${cleanLong}<p>Suspicious: <a href="javascript:alert(1)">click</a> <svg onload=alert(1)><script>x</script></svg></p>${cleanLong}`,
      '<a href="javascript:x"><p>a<a href="https://a.example/">b</a></p></a>',
      '<a><a><a>x</a>y</a>z</a>',
      '<p><a href="/rel"><pre>x</pre></a></p>',
      '<b><noscript></b><a>x</a></noscript>y',
    ]) {
      expect(sanitizeRichText(html), html).toBe(referenceSanitize(html));
    }
  });
});
