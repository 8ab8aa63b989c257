// The package.json a published package ships is not the one the repo works with: npm runs this
// as each package's `prepack` (swap in the published manifest), `postpack` and `postpublish`
// (put the repo's back), so `npm pack`, `npm publish` and `changeset publish` all ship it.
//
// The published manifest differs in three ways:
// - no `@switchboard/source` export condition: the repo resolves sibling packages to their
//   TypeScript sources with it (vitest, tsconfig customConditions, tsx --conditions); users have no
//   `src/` and must never match it;
// - no `src` in `files`: the source maps embed their sources (`sourcesContent`), so shipping
//   `src/` too would ship the source twice;
// - `repository` (with `directory`), `homepage` and `bugs` come from the root package.json's
//   `repository`, the one place the project's address is written; without it they are left out.
//
// `npm publish` re-reads package.json after `postpack` and sends that to the registry as the
// version's metadata, so under publish the repo's manifest comes back only at `postpublish`. If a
// pack or publish dies in between, the next `prepack` (or `node scripts/pack-manifest.mjs
// restore` in the package) puts the backup back first. `--ignore-scripts` skips all of this, so
// never publish with it. The lifecycle commands write nothing to stdout: npm and changesets parse
// the JSON that `npm pack --json` / `npm publish --json` print there.
import { existsSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_CONDITION = '@switchboard/source';
export const BACKUP_FILE = 'package.json.prepack-backup';
const defaultRoot = fileURLToPath(new URL('..', import.meta.url));

const serialize = (manifest) => `${JSON.stringify(manifest, null, 2)}\n`;

function withoutSourceCondition(target) {
  if (target === null || typeof target !== 'object' || Array.isArray(target)) return target;
  return Object.fromEntries(
    Object.entries(target)
      .filter(([key]) => key !== SOURCE_CONDITION)
      .map(([key, value]) => [key, withoutSourceCondition(value)]),
  );
}

const isSourceEntry = (entry) => /^!?(\.\/)?src(\/|$)/.test(entry);

/**
 * `repository` as an https or git URL and the project's web address, from what npm accepts in
 * package.json: `github:owner/name` (also gitlab:, bitbucket:), `owner/name`, git+https, ssh.
 */
function parseRepository(repository) {
  const raw = typeof repository === 'string' ? repository : repository?.url;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const hosts = { github: 'github.com', gitlab: 'gitlab.com', bitbucket: 'bitbucket.org' };
  const shorthand = /^(?:(github|gitlab|bitbucket):)?([\w.-]+\/[\w.-]+?)(?:\.git)?$/.exec(raw.trim());
  if (shorthand) {
    const web = `https://${hosts[shorthand[1] ?? 'github']}/${shorthand[2]}`;
    return { type: 'git', url: `git+${web}.git`, web };
  }
  const ssh = /^(?:git\+)?(?:ssh:\/\/)?git@([^:/]+)[:/](.+?)(?:\.git)?\/?$/.exec(raw.trim());
  if (ssh) return { type: 'git', url: raw.trim(), web: `https://${ssh[1]}/${ssh[2]}` };
  const http = /^(?:git\+)?(https?|git):\/\/([^/]+)\/(.+?)(?:\.git)?\/?$/.exec(raw.trim());
  if (http) return { type: repository.type ?? 'git', url: raw.trim(), web: `https://${http[2]}/${http[3]}` };
  return { type: repository.type ?? 'git', url: raw.trim(), web: undefined };
}

function projectLinks(rootManifest, directory) {
  const repository = parseRepository(rootManifest.repository);
  if (!repository) return {};
  const links = { repository: { type: repository.type, url: repository.url, directory } };
  if (repository.web) {
    const tree = repository.web.includes('gitlab.com/') ? '/-/tree/HEAD/' : '/tree/HEAD/';
    links.homepage = `${repository.web}${tree}${directory}#readme`;
  }
  const bugs = rootManifest.bugs ?? (repository.web ? { url: `${repository.web}/issues` } : undefined);
  if (bugs) links.bugs = bugs;
  return links;
}

/**
 * The manifest to publish for the package at `packageDir`, from the repo's `manifest` and the root
 * package.json: same key order, the three differences above.
 */
export function publishedManifest(manifest, { packageDir, rootDir = defaultRoot, rootManifest }) {
  const root = rootManifest ?? JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8'));
  const links = projectLinks(root, relative(rootDir, packageDir).split(sep).join('/'));
  const published = {};
  let linksPlaced = false;
  for (const [key, value] of Object.entries(manifest)) {
    if (key in links) continue;
    if (key === 'exports') published.exports = withoutSourceCondition(value);
    else if (key === 'files') published.files = value.filter((entry) => !isSourceEntry(entry));
    else published[key] = value;
    if (key === 'keywords') {
      Object.assign(published, links);
      linksPlaced = true;
    }
  }
  if (!linksPlaced) Object.assign(published, links);
  return published;
}

/**
 * Puts the repo's manifest back if a backup is there. Refuses when package.json is neither the
 * published manifest written from that backup nor the backup itself: someone edited it since, and
 * only they know which edit to keep.
 */
export function restore({ packageDir, rootDir = defaultRoot }) {
  const manifestFile = join(packageDir, 'package.json');
  const backupFile = join(packageDir, BACKUP_FILE);
  if (!existsSync(backupFile)) return false;
  const backup = readFileSync(backupFile, 'utf8');
  const current = readFileSync(manifestFile, 'utf8');
  const written = serialize(publishedManifest(JSON.parse(backup), { packageDir, rootDir }));
  if (current !== written && current !== backup) {
    throw new Error(
      `${manifestFile} changed after a pack was interrupted; compare it with ${BACKUP_FILE}, keep what you need in package.json and delete ${BACKUP_FILE}`,
    );
  }
  renameSync(backupFile, manifestFile);
  return true;
}

/** Backs up the repo's manifest and writes the published one in its place. */
export function prepack({ packageDir, rootDir = defaultRoot }) {
  restore({ packageDir, rootDir });
  const manifestFile = join(packageDir, 'package.json');
  const original = readFileSync(manifestFile, 'utf8');
  // Backup first, complete, under its final name only once written: a crash at any point
  // leaves either the untouched package.json or a full backup next to the published one.
  writeFileSync(`${join(packageDir, BACKUP_FILE)}.tmp`, original);
  renameSync(`${join(packageDir, BACKUP_FILE)}.tmp`, join(packageDir, BACKUP_FILE));
  writeFileSync(manifestFile, serialize(publishedManifest(JSON.parse(original), { packageDir, rootDir })));
}

/** `postpack`: restores, except under `npm publish`, which reads package.json once more after it. */
export function postpack({ packageDir, rootDir = defaultRoot, npmCommand }) {
  if (npmCommand === 'publish' || npmCommand === 'stage') return false;
  return restore({ packageDir, rootDir });
}

export function run(command, { packageDir, rootDir = defaultRoot, env = process.env }) {
  switch (command) {
    case 'prepack':
      return prepack({ packageDir, rootDir });
    case 'postpack':
      return postpack({ packageDir, rootDir, npmCommand: env.npm_command });
    case 'postpublish':
    case 'restore':
      return restore({ packageDir, rootDir });
    case 'print':
      return serialize(
        publishedManifest(JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')), { packageDir, rootDir }),
      );
    default:
      throw new Error(
        `usage: node scripts/pack-manifest.mjs prepack|postpack|postpublish|restore|print (got ${command})`,
      );
  }
}

// Compared as real paths: a symlinked checkout must not turn the swap into a silent no-op.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    const output = run(process.argv[2], { packageDir: process.cwd() });
    if (process.argv[2] === 'print') process.stdout.write(output);
  } catch (error) {
    process.stderr.write(`pack-manifest: ${error.message}\n`);
    process.exit(1);
  }
}
