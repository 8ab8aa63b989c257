// Run after `npm run build`. A build that bundles third-party code (the CJS builds of auth and
// validation carry their ESM-only dependencies) ships those versions inside our files, where
// neither `npm audit` nor Dependabot of our users can see them. So:
// - what each build bundles is read from its source maps (every bundled file is a source there),
//   with the version of the installed package each file came from;
// - graphql is never bundled (a second copy rejects the user's schema and errors);
// - dist/THIRD-PARTY-NOTICES.md lists exactly the bundled packages (their licenses travel with them);
// - `npm audit` runs on those exact versions (a generated lockfile in a temporary directory), and
//   any advisory fails the check.
// `--self-test` audits sanitize-html 2.3.0 (known advisories) and fails unless npm audit reports them.
// `--allow-unreachable-audit`: where the registry refuses the audit endpoint (a read-only mirror
// answers 405), warn instead of failing; every other check, and any advisory, still fails.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inDependencyOrder, root } from './workspaces.mjs';

const NEVER_BUNDLED = ['graphql'];

/** The installed package (name, version, dir) a bundled file belongs to, or undefined for our own code. */
export function owningPackage(file) {
  const marker = '/node_modules/';
  const at = file.lastIndexOf(marker);
  if (at === -1) return undefined;
  const parts = file.slice(at + marker.length).split('/');
  const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  const dir = file.slice(0, at + marker.length) + name;
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) throw new Error(`${file}: no ${manifest} (build and check with the same install)`);
  return { name, version: JSON.parse(readFileSync(manifest, 'utf8')).version, dir };
}

/** name@version → { name, version, files: the dist files that bundle it } for one package's dist. */
export function bundledPackages(distDir) {
  const bundled = new Map();
  for (const file of readdirSync(distDir)) {
    if (!file.endsWith('.map')) continue;
    const map = JSON.parse(readFileSync(join(distDir, file), 'utf8'));
    for (const source of map.sources ?? []) {
      const owner = owningPackage(resolve(distDir, map.sourceRoot ?? '', source));
      if (!owner) continue;
      const key = `${owner.name}@${owner.version}`;
      const entry = bundled.get(key) ?? { name: owner.name, version: owner.version, files: new Set() };
      entry.files.add(file.replace(/\.map$/, ''));
      bundled.set(key, entry);
    }
  }
  return bundled;
}

/** Problems with what a dist bundles, other than advisories. */
export function bundlingProblems(distDir, bundled) {
  const problems = [];
  for (const { name, version, files } of bundled.values()) {
    if (NEVER_BUNDLED.includes(name))
      problems.push(`bundles ${name}@${version} (${[...files].join(', ')}): it must stay one shared instance`);
  }
  const noticesFile = join(distDir, 'THIRD-PARTY-NOTICES.md');
  const listed = existsSync(noticesFile)
    ? [...readFileSync(noticesFile, 'utf8').matchAll(/^## (\S+@\S+) /gm)].map((match) => match[1])
    : [];
  const actual = [...bundled.keys()];
  for (const key of actual)
    if (!listed.includes(key)) problems.push(`bundles ${key} but dist/THIRD-PARTY-NOTICES.md does not list it`);
  for (const key of listed)
    if (!actual.includes(key)) problems.push(`dist/THIRD-PARTY-NOTICES.md lists ${key}, which no build bundles`);
  return problems;
}

/**
 * `npm audit` on exact versions: a lockfile that installs each one (names that occur at several
 * versions go to separate lockfiles). Returns the advisories found; throws if npm audit itself
 * failed (no answer from the registry is not a pass).
 * @param {{ name: string, version: string }[]} packages
 */
export async function audit(packages, { npm = 'npm', env = process.env } = {}) {
  const layers = [];
  for (const { name, version } of packages) {
    let layer = layers.find((candidate) => !candidate.has(name));
    if (!layer) {
      layer = new Map();
      layers.push(layer);
    }
    layer.set(name, version);
  }
  const findings = [];
  const work = mkdtempSync(join(tmpdir(), 'switchboard-bundled-audit-'));
  try {
    for (const [index, layer] of layers.entries()) {
      const dir = join(work, String(index));
      mkdirSync(dir);
      const dependencies = Object.fromEntries(layer);
      const lock = { name: 'bundled', version: '0.0.0', lockfileVersion: 3, requires: true, packages: {} };
      lock.packages[''] = { name: 'bundled', version: '0.0.0', dependencies };
      for (const [name, version] of layer) lock.packages[`node_modules/${name}`] = { version };
      writeFileSync(
        join(dir, 'package.json'),
        `${JSON.stringify({ name: 'bundled', version: '0.0.0', dependencies })}\n`,
      );
      writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock)}\n`);
      const result = await run(npm, ['audit', '--json', '--package-lock-only', '--audit-level=low'], { cwd: dir, env });
      let report;
      try {
        report = JSON.parse(result.stdout);
      } catch {
        throw new Error(`npm audit gave no report (exit ${result.status}): ${result.stderr.trim()}`);
      }
      if (report.error || report.message || !report.vulnerabilities)
        throw new Error(`npm audit failed: ${report.error?.summary || report.message || JSON.stringify(report)}`);
      for (const [name, vulnerability] of Object.entries(report.vulnerabilities)) {
        for (const via of vulnerability.via) {
          if (typeof via !== 'object') continue;
          findings.push({
            name,
            version: layer.get(name),
            severity: via.severity,
            title: via.title,
            url: via.url,
            range: via.range,
          });
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return findings;
}

function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const describeFinding = (finding) =>
  `${finding.name}@${finding.version}: ${finding.severity} ${finding.title} (${finding.range}) ${finding.url}`;

async function main(args) {
  if (args.includes('--self-test')) {
    const findings = await audit([{ name: 'sanitize-html', version: '2.3.0' }]);
    if (findings.length === 0) {
      process.stderr.write('self-test failed: npm audit reported nothing for sanitize-html@2.3.0\n');
      process.exit(1);
    }
    process.stderr.write(
      `self-test ok: sanitize-html@2.3.0 fails the check:\n${findings.map(describeFinding).join('\n')}\n`,
    );
    return;
  }
  const failed = [];
  const toAudit = new Map();
  for (const { dir, manifest } of inDependencyOrder()) {
    if (manifest.private) continue;
    const distDir = join(dir, 'dist');
    if (!existsSync(distDir)) {
      failed.push(`${manifest.name}: no dist/ (run npm run build first)`);
      continue;
    }
    const bundled = bundledPackages(distDir);
    for (const problem of bundlingProblems(distDir, bundled)) failed.push(`${manifest.name}: ${problem}`);
    for (const [key, entry] of bundled) {
      toAudit.set(key, entry);
      process.stderr.write(`${manifest.name} bundles ${key} in ${[...entry.files].join(', ')}\n`);
    }
  }
  if (toAudit.size > 0) {
    let findings = [];
    try {
      findings = await audit([...toAudit.values()]);
      if (findings.length === 0)
        process.stderr.write(`npm audit: no advisory for the ${toAudit.size} bundled versions\n`);
    } catch (error) {
      if (!args.includes('--allow-unreachable-audit')) throw error;
      process.stderr.write(
        `WARNING: bundled versions NOT audited: ${error instanceof Error ? error.message : error}\n`,
      );
    }
    for (const finding of findings) failed.push(`advisory for bundled ${describeFinding(finding)}`);
  }
  if (failed.length > 0) {
    process.stderr.write(
      `\nbundled-code check failed (${relative(process.cwd(), root) || '.'}):\n${failed.join('\n')}\n`,
    );
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`bundled-code check could not run: ${error instanceof Error ? error.message : error}\n`);
    process.exit(2);
  });
}
