// Packaging gate for every published package, run after `npm run build` on the tarball npm packs
// (so the prepack manifest from scripts/pack-manifest.mjs is what gets checked):
// - `publint --strict`, and attw's strict profile: types and code resolve from ESM, from CJS, and
//   under TypeScript's node16, bundler and node10 resolution (node10, the resolution of TS 5.x
//   projects on "module": "commonjs", cannot read `exports`: `typesVersions` maps its subpaths);
// - the published manifest has no `@switchboard/source` condition and the tarball no `src/`: the
//   source maps carry the sources instead, so each must embed every source it names;
// - packing leaves package.json exactly as it was;
// - no build imports the private hot-path kit (tools/hot-path), which tsup bundles in and users
//   cannot install; a public type that mentions it would reach a .d.ts as an import.
// `node scripts/check-packages.mjs auth cache` checks only those packages (folder names).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { BACKUP_FILE, SOURCE_CONDITION } from './pack-manifest.mjs';
import { inDependencyOrder } from './workspaces.mjs';

const only = process.argv.slice(2);
const failed = [];
const fail = (name, problem) => {
  process.stderr.write(`${name}: ${problem}\n`);
  failed.push(`${name} (${problem.split(':')[0]})`);
};

// Our own sources only: a dependency bundled into a build comes with its own map, which may
// name sources it never shipped either.
function checkSourceMaps(name, dir) {
  const dist = join(dir, 'dist');
  for (const file of readdirSync(dist).filter((file) => file.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(dist, file), 'utf8'));
    const embedded = map.sourcesContent ?? [];
    const missing = map.sources.filter(
      (source, index) => resolve(dist, source).startsWith(join(dir, 'src', sep)) && typeof embedded[index] !== 'string',
    );
    if (missing.length > 0) fail(name, `source map without its sources: dist/${file} (src/ is not published)`);
  }
}

/** Packs with npm (prepack/postpack included), returning the tarball and what it holds. */
function pack(dir, destination) {
  const before = readFileSync(join(dir, 'package.json'), 'utf8');
  const result = spawnSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`npm pack failed in ${dir}`);
  const [packed] = JSON.parse(result.stdout);
  const manifest = spawnSync('tar', ['-xzOf', join(destination, packed.filename), 'package/package.json'], {
    encoding: 'utf8',
  }).stdout;
  const restored = readFileSync(join(dir, 'package.json'), 'utf8') === before && !existsSync(join(dir, BACKUP_FILE));
  return {
    tarball: join(destination, packed.filename),
    files: packed.files.map((file) => file.path),
    manifest,
    restored,
  };
}

const scratch = mkdtempSync(join(tmpdir(), 'switchboard-pack-'));
try {
  for (const { dir, manifest } of inDependencyOrder()) {
    if (manifest.private || (only.length > 0 && !only.includes(basename(dir)))) continue;
    if (!existsSync(join(dir, 'dist'))) {
      fail(manifest.name, 'no dist/ (run npm run build first)');
      continue;
    }
    process.stderr.write(`\n== check ${manifest.name}\n`);
    const kitImports = readdirSync(join(dir, 'dist')).filter(
      (file) =>
        !file.endsWith('.map') && readFileSync(join(dir, 'dist', file), 'utf8').includes('@switchboard/hot-path'),
    );
    if (kitImports.length > 0)
      fail(manifest.name, `hot-path: dist imports @switchboard/hot-path: ${kitImports.join(', ')}`);
    checkSourceMaps(manifest.name, dir);

    const packed = pack(dir, scratch);
    if (!packed.restored) fail(manifest.name, 'pack: package.json differs after npm pack, or a backup was left');
    if (packed.manifest.includes(SOURCE_CONDITION)) fail(manifest.name, `manifest: published with ${SOURCE_CONDITION}`);
    const sources = packed.files.filter((file) => file.startsWith('src/'));
    if (sources.length > 0) fail(manifest.name, `files: src/ is published (${sources.length} files)`);

    for (const [command, args] of [
      ['publint', ['run', packed.tarball, '--strict']],
      ['attw', [packed.tarball, '--profile', 'strict', '--format', 'table-flipped']],
    ]) {
      const result = spawnSync('npx', ['--no-install', command, ...args], { cwd: dir, stdio: 'inherit' });
      if (result.status !== 0) failed.push(`${manifest.name} (${command})`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (failed.length > 0) {
  process.stderr.write(`\npackaging checks failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
