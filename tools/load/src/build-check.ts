import { spawnSync } from 'node:child_process';
import { type Dirent, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHAT_SERVER_DIR = join(REPO_ROOT, 'examples/chat-server');
/** The built server the harness runs, as production would. */
export const SERVER_MAIN = join(CHAT_SERVER_DIR, 'dist/main.js');

interface BuildState {
  name: string;
  dir: string;
  /** Why it needs a build; undefined when up to date. */
  stale: string | undefined;
  /** The Switchboard packages it depends on. */
  uses: string[];
}

/** Newest modification time of any file below `dir` (0 when it does not exist). */
function newest(dir: string): number {
  let latest = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function manifestOf(dir: string): { dependencies?: Record<string, string>; devDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

function stateOf(name: string, dir: string, output: string): BuildState {
  const manifest = manifestOf(dir);
  const uses = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((dependency) =>
    dependency.startsWith('@switchboard/'),
  );
  const built = (() => {
    try {
      return statSync(join(dir, output)).mtimeMs;
    } catch {
      return undefined;
    }
  })();
  if (built === undefined) return { name, dir, stale: `${output} is missing`, uses };
  const inputs = Math.max(newest(join(dir, 'src')), statSync(join(dir, 'package.json')).mtimeMs);
  return { name, dir, stale: inputs > built ? `src/ changed after ${output} was built` : undefined, uses };
}

/** The chat server and every Switchboard package it runs on (dependencies first), with whether each build is current. */
export function buildStates(): BuildState[] {
  const packages = Object.keys(manifestOf(CHAT_SERVER_DIR).dependencies ?? {})
    .filter((name) => name.startsWith('@switchboard/'))
    .map((name) => stateOf(name, realpathSync(join(REPO_ROOT, 'node_modules', name)), 'dist/index.js'));
  const ordered: BuildState[] = [];
  const visit = (state: BuildState) => {
    if (ordered.includes(state)) return;
    for (const dependency of state.uses) {
      const known = packages.find((candidate) => candidate.name === dependency);
      if (known) visit(known);
    }
    ordered.push(state);
  };
  for (const state of packages) visit(state);
  return [...ordered, stateOf('@switchboard/chat-server', CHAT_SERVER_DIR, 'dist/main.js')];
}

/**
 * The harness measures the built server over the packages' built `dist`: a stale build would
 * measure old code. With `build`, rebuilds what is stale, dependencies first; without, throws a
 * message that says what to run.
 */
export function ensureBuilt(options: { build: boolean }): void {
  const stale = buildStates().filter((state) => state.stale);
  if (stale.length === 0) return;
  const why = stale.map((state) => `${state.name}: ${state.stale}`).join('; ');
  if (!options.build) {
    throw new Error(`the server's build is not current (${why}): run \`npm run build\` first (or pass --build)`);
  }
  for (const state of stale) {
    const result = spawnSync('npm', ['run', 'build', '--silent'], {
      cwd: state.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new Error(`the build of ${state.name} failed (${state.stale}):\n${result.stdout}${result.stderr}`);
    }
  }
}
