import { ok } from 'node:assert/strict';
import { storeContract } from '@switchboard/ratelimit/testing';

export async function check(): Promise<void> {
  // The contract registers vitest suites: calling it needs a vitest run, importing does not.
  ok(typeof storeContract === 'function');
}
