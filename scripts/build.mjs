// Builds every workspace that has a build script, dependencies first (npm's own
// `--workspaces` runs them in folder order, which breaks as soon as one package uses another).
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { inDependencyOrder, root } from './workspaces.mjs';

for (const { dir, manifest } of inDependencyOrder()) {
  if (!manifest.scripts?.build) continue;
  process.stderr.write(`\n== build ${manifest.name} (${relative(root, dir)})\n`);
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`build failed: ${manifest.name}\n`);
    process.exit(result.status ?? 1);
  }
}
