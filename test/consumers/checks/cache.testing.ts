import { ok } from 'node:assert/strict';
import { sharedTierContract } from '@switchboard/cache/testing';

export async function check(): Promise<void> {
  // The contract registers vitest suites: calling it needs a vitest run, importing does not.
  ok(typeof sharedTierContract === 'function');
}
