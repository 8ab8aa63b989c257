// Runs `npm run bench` in every workspace that has one. Benchmarks run our code and the peer
// library side by side in one process and print a markdown table with the ratio.
import { spawnSync } from 'node:child_process';
import { inDependencyOrder } from './workspaces.mjs';

const only = process.argv[2];
const withBench = inDependencyOrder().filter(
  ({ manifest }) => manifest.scripts?.bench && (!only || manifest.name === only || manifest.name.endsWith(`/${only}`)),
);
if (withBench.length === 0) {
  process.stderr.write(
    only
      ? `npm run bench: no workspace named '${only}' has a benchmark.\n`
      : 'npm run bench: no package has a benchmark yet; each arrives with its package issue.\n',
  );
  process.exit(1);
}
let status = 0;
for (const { dir, manifest } of withBench) {
  process.stderr.write(`\n== bench ${manifest.name}\n`);
  const result = spawnSync('npm', ['run', 'bench', '--silent'], { cwd: dir, stdio: 'inherit' });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
