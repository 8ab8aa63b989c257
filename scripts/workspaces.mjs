// The repo's workspaces, read from the root package.json globs (one level deep, as we use them).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;

/** @returns {{ dir: string, manifest: Record<string, any> }[]} */
export function workspaces() {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return rootManifest.workspaces.flatMap((pattern) => {
    const parent = join(root, pattern.replace(/\/\*$/, ''));
    if (!existsSync(parent)) return [];
    return readdirSync(parent, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(parent, entry.name, 'package.json')))
      .map((entry) => {
        const dir = join(parent, entry.name);
        return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
      });
  });
}

/** Workspaces sorted so that each comes after the workspaces it depends on. */
export function inDependencyOrder(list = workspaces()) {
  const byName = new Map(list.map((workspace) => [workspace.manifest.name, workspace]));
  const ordered = [];
  const state = new Map();
  const visit = (workspace, path) => {
    const name = workspace.manifest.name;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
    state.set(name, 'visiting');
    const deps = {
      ...workspace.manifest.dependencies,
      ...workspace.manifest.peerDependencies,
      ...workspace.manifest.devDependencies,
    };
    for (const dep of Object.keys(deps)) {
      const sibling = byName.get(dep);
      if (sibling) visit(sibling, [...path, name]);
    }
    state.set(name, 'done');
    ordered.push(workspace);
  };
  for (const workspace of list) visit(workspace, []);
  return ordered;
}
