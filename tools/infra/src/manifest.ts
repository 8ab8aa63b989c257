import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessRecord } from './process.ts';
import type { TopologyInfo } from './types.ts';

/**
 * What a topology directory holds about itself, so that any process (the CLI's `down`, a later
 * test run cleaning up after a crashed one) can stop exactly the servers it started.
 */
export interface Manifest {
  version: 1;
  /** The process that owns the servers; when it is gone and `detached` is false, they are orphans. */
  owner: { pid: number; startTime: string };
  /** Started by the CLI's `up` to outlive it. */
  detached: boolean;
  info: TopologyInfo;
  processes: ProcessRecord[];
}

export const MANIFEST_FILE = 'manifest.json';

export function readManifest(dir: string): Manifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
    return manifest.version === 1 ? manifest : undefined;
  } catch {
    return undefined;
  }
}

export function writeManifest(dir: string, manifest: Manifest): void {
  // Write-then-rename: a reader never sees half a file, even if we are killed mid-write.
  const file = join(dir, MANIFEST_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
