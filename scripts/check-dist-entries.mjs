// Run after `npm run build`: every published entry loads as users load it.
// 1. Every `require` entry loads under `node --no-experimental-require-module` (what Jest's
//    CommonJS runtime can do: no require() of ESM), and auth and validation, whose CJS builds
//    bundle ESM-only dependencies, sign + verify a token and sanitize a string.
// 2. Without the optional peers installed, each entry either loads or fails with exactly one line
//    that names the peer to install: ours in CJS (never Node's raw "Cannot find module" with its
//    require stack), Node's "Cannot find package '<peer>'" in ESM (static imports; see tsup.base.ts).
// Each package is copied into a project under the OS temp directory whose node_modules holds
// only its dependencies and required peers (linked from the repo), so nothing else resolves.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inDependencyOrder, root } from './workspaces.mjs';

// What each root entry must be able to do, beyond loading.
const exercises = {
  '@switchboard/auth': `
    const key = await entry.generateSigningKey();
    const tokens = entry.createAccessTokenService(await entry.loadKeySet([key]), { issuer: 'i', audience: 'a' });
    const { token } = await tokens.sign({ userId: 'u1', sessionId: 's1' });
    const principal = await tokens.verify(token);
    if (principal.userId !== 'u1') throw new Error('verify returned ' + JSON.stringify(principal));`,
  '@switchboard/validation': `
    const clean = entry.sanitizeRichText('<b>hi</b><script>alert(1)</script><img src=x onerror=alert(1)>');
    if (clean !== '<b>hi</b>') throw new Error('sanitizeRichText returned ' + JSON.stringify(clean));`,
};

// Packages whose required peers (the repo's versions) are ESM-only: NestJS 12. Their CJS entry is
// required here with require(esm), as a Nest 12 CommonJS app does; the CommonJS path without it
// (Nest 11 apps, Jest) is test/nest-apps/run.mjs, on Nest 11 installed from the registry.
const PEERS_ESM_ONLY = new Set(['@switchboard/nestjs']);

// vitest refuses require() by design: a ./testing entry can only run inside vitest, as ESM.
const VITEST_REFUSES_CJS = 'Vitest cannot be imported in a CommonJS module using require()';

function run(cwd, args) {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

/** The first line of an uncaught error as Node prints it (after the source excerpt). */
function errorLine(output) {
  return output.split('\n').find((line) => /^[A-Za-z]*Error\b.*: /.test(line)) ?? output.split('\n')[0];
}

function link(project, name) {
  const target = join(project, 'node_modules', name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(root, 'node_modules', name), target, 'dir');
}

const failures = [];
const fail = (message) => {
  failures.push(message);
  process.stderr.write(`FAIL ${message}\n`);
};
const work = mkdtempSync(join(tmpdir(), 'switchboard-dist-entries-'));

for (const { dir, manifest } of inDependencyOrder()) {
  if (manifest.private) continue;
  if (!existsSync(join(dir, 'dist'))) {
    fail(`${manifest.name}: no dist/ (run npm run build first)`);
    continue;
  }
  const optional = Object.keys(manifest.peerDependencies ?? {}).filter(
    (name) => manifest.peerDependenciesMeta?.[name]?.optional,
  );
  const required = [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optional.includes(name)),
  ];
  const entries = Object.keys(manifest.exports).filter((subpath) => typeof manifest.exports[subpath] === 'object');

  for (const withPeers of [true, false]) {
    const project = join(work, `${manifest.name.replace('/', '+')}-${withPeers ? 'with' : 'without'}-peers`);
    const installed = join(project, 'node_modules', manifest.name);
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(project, 'package.json'), '{ "private": true }\n');
    cpSync(join(dir, 'package.json'), join(installed, 'package.json'));
    cpSync(join(dir, 'dist'), join(installed, 'dist'), { recursive: true });
    for (const name of withPeers ? [...required, ...optional] : required) link(project, name);

    for (const subpath of entries) {
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      const exercise = subpath === '.' ? (exercises[manifest.name] ?? '') : '';
      const body = `if (Object.keys(entry).length === 0) throw new Error('no exports'); ${exercise}`;
      const cjs = run(project, [
        ...(PEERS_ESM_ONLY.has(manifest.name) ? [] : ['--no-experimental-require-module']),
        '-e',
        `const entry = require(${JSON.stringify(specifier)}); (async () => { ${body} })().catch((error) => { console.error(error); process.exit(1); });`,
      ]);
      const esm = run(project, [
        '--input-type=module',
        '-e',
        `const entry = await import(${JSON.stringify(specifier)}); ${body}`,
      ]);
      for (const [format, result] of [
        ['require', cjs],
        ['import', esm],
      ]) {
        const label = `${specifier} (${format}, ${withPeers ? 'peers installed' : 'no optional peers'})`;
        if (result.ok) continue;
        const line = errorLine(result.output);
        if (format === 'require' && withPeers && line.includes(VITEST_REFUSES_CJS)) continue;
        if (!withPeers) {
          const missing = /^Error: (\S+(?: and \S+)*) needs? (\S+): npm install (\S+)$/.exec(line);
          const named = missing?.[1]?.split(' and ') ?? [];
          if (missing && missing[2] === missing[3] && optional.includes(missing[2]) && named.includes(specifier))
            continue;
          // ESM links its static imports before any code runs (see tsup.base.ts): Node's own one
          // line names the missing package.
          const linked = /^Error \[ERR_MODULE_NOT_FOUND\]: Cannot find package '([^']+)' imported from /.exec(line);
          if (format === 'import' && linked && optional.includes(linked[1] ?? '')) continue;
        }
        fail(`${label}: ${line}\n${result.output.split('\n').slice(0, 12).join('\n')}`);
      }
    }
  }
  process.stderr.write(`ok ${manifest.name}: ${entries.length} entries\n`);
}

rmSync(work, { recursive: true, force: true });
if (failures.length > 0) {
  process.stderr.write(`\n${failures.length} dist entry check(s) failed\n`);
  process.exit(1);
}
process.stderr.write('\nevery entry loads (CJS without require(esm)); missing optional peers are named\n');
