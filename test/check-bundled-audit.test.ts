import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import { audit, bundledPackages, bundlingProblems } from '../scripts/check-bundled-audit.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// A registry that knows one advisory: sanitize-html before 2.3.1 (CVE-2021-26539), and refuses
// the audit endpoint when asked to (the way a read-only mirror does).
let registry: Server;
let registryUrl = '';
let refuseAudit = false;
const requested: Record<string, string[]>[] = [];

beforeAll(async () => {
  registry = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url?.startsWith('/-/npm/v1/security/advisories/bulk')) {
        if (refuseAudit) {
          response.writeHead(405, { allow: 'GET,HEAD' }).end();
          return;
        }
        const raw = Buffer.concat(chunks);
        const body = JSON.parse(
          (request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'),
        ) as Record<string, string[]>;
        requested.push(body);
        const vulnerable = (body['sanitize-html'] ?? []).some((version) => /^2\.3\.0$|^[01]\./.test(version));
        const advisories = vulnerable
          ? {
              'sanitize-html': [
                {
                  id: 1091466,
                  url: 'https://github.com/advisories/GHSA-mjxr-4v3x-q3m4',
                  title: 'Improper Input Validation in sanitize-html',
                  severity: 'moderate',
                  vulnerable_versions: '<2.3.1',
                  cwe: ['CWE-20'],
                  cvss: { score: 5.3, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N' },
                },
              ],
            }
          : {};
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(advisories));
        return;
      }
      if (request.method === 'GET' && request.url === '/sanitize-html') {
        const versions = Object.fromEntries(
          ['2.3.0', '2.3.1', '2.18.1'].map((version) => [
            version,
            { name: 'sanitize-html', version, dist: { tarball: `${registryUrl}/sanitize-html/-/${version}.tgz` } },
          ]),
        );
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ name: 'sanitize-html', 'dist-tags': { latest: '2.18.1' }, versions }));
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => registry.close(() => resolve())));

const env = () => ({
  ...process.env,
  npm_config_registry: `${registryUrl}/`,
  npm_config_cache: join(tmpdir(), 'sb-audit-cache'),
});

describe('check-bundled-audit', () => {
  test('fails on a bundled version that has an advisory', async () => {
    refuseAudit = false;
    const findings = await audit([{ name: 'sanitize-html', version: '2.3.0' }], { env: env() });
    expect(requested.at(-1)).toEqual({ 'sanitize-html': ['2.3.0'] });
    expect(findings).toEqual([
      expect.objectContaining({ name: 'sanitize-html', version: '2.3.0', severity: 'moderate', range: '<2.3.1' }),
    ]);
  }, 60_000);

  test('passes the patched version', async () => {
    refuseAudit = false;
    expect(await audit([{ name: 'sanitize-html', version: '2.18.1' }], { env: env() })).toEqual([]);
  }, 60_000);

  test('an audit endpoint that does not answer is an error, never a pass', async () => {
    refuseAudit = true;
    await expect(audit([{ name: 'sanitize-html', version: '2.18.1' }], { env: env() })).rejects.toThrow(/405/);
  }, 60_000);

  test('a name bundled at two versions audits both', async () => {
    refuseAudit = false;
    const findings = await audit(
      [
        { name: 'sanitize-html', version: '2.18.1' },
        { name: 'sanitize-html', version: '2.3.0' },
      ],
      { env: env() },
    );
    expect(findings.map((finding: { version: string }) => finding.version)).toEqual(['2.3.0']);
  }, 60_000);
});

describe('what a build bundles', () => {
  const dist = mkdtempSync(join(tmpdir(), 'sb-bundled-dist-'));
  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  const writeMap = (file: string, sources: string[]) =>
    writeFileSync(join(dist, file), JSON.stringify({ version: 3, sources, mappings: '' }));
  const fromRepo = (path: string) => relative(dist, join(repoRoot, path));

  test('reads bundled packages and their versions from the source maps, not our own sources', () => {
    mkdirSync(dist, { recursive: true });
    writeMap('index.cjs.map', [
      fromRepo('packages/auth/src/index.ts'),
      fromRepo('node_modules/jose/dist/webapi/index.js'),
    ]);
    const bundled = bundledPackages(dist);
    expect([...bundled.keys()]).toEqual([expect.stringMatching(/^jose@\d+\.\d+\.\d+/)]);
    expect(bundlingProblems(dist, bundled)).toEqual([
      expect.stringMatching(/^bundles jose@\S+ but dist\/THIRD-PARTY-NOTICES.md does not list it$/),
    ]);
  });

  test('refuses a bundled graphql', () => {
    writeMap('graphql.cjs.map', [fromRepo('node_modules/graphql/error/GraphQLError.js')]);
    const problems = bundlingProblems(dist, bundledPackages(dist));
    expect(problems).toContainEqual(expect.stringMatching(/^bundles graphql@\S+ \(graphql\.cjs\): it must stay one/));
  });
});
