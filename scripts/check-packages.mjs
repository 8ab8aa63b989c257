// Packaging gate for every published package: `publint --strict` and `attw --pack` with the
// node16 profile (types and code resolve from ESM, from CJS, and under TypeScript's node16 and
// bundler resolution; node10 predates `exports` and cannot see subpaths). Run after `npm run build`.
// Also: no build may import the private hot-path kit (tools/hot-path), which tsup bundles in and
// users cannot install; a public type that mentions it would reach a .d.ts as an import.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inDependencyOrder } from './workspaces.mjs';

const failed = [];
for (const { dir, manifest } of inDependencyOrder()) {
  if (manifest.private) continue;
  if (!existsSync(join(dir, 'dist'))) {
    process.stderr.write(`${manifest.name}: no dist/ (run npm run build first)\n`);
    failed.push(manifest.name);
    continue;
  }
  process.stderr.write(`\n== check ${manifest.name}\n`);
  const kitImports = readdirSync(join(dir, 'dist')).filter(
    (file) => !file.endsWith('.map') && readFileSync(join(dir, 'dist', file), 'utf8').includes('@switchboard/hot-path'),
  );
  if (kitImports.length > 0) {
    process.stderr.write(
      `${manifest.name}: dist imports the private @switchboard/hot-path: ${kitImports.join(', ')}\n`,
    );
    failed.push(`${manifest.name} (hot-path import)`);
  }
  for (const [command, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'node16', '--format', 'table-flipped']],
  ]) {
    const result = spawnSync('npx', ['--no-install', command, ...args], { cwd: dir, stdio: 'inherit' });
    if (result.status !== 0) failed.push(`${manifest.name} (${command})`);
  }
}
if (failed.length > 0) {
  process.stderr.write(`\npackaging checks failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
