import { ok } from 'node:assert/strict';
import { tokenStoreContract } from '@switchboard/db-router/testing';

export async function check(): Promise<void> {
  // The contract registers vitest suites: calling it needs a vitest run, importing does not.
  ok(typeof tokenStoreContract === 'function');
}
