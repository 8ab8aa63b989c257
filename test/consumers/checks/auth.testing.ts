import { ok } from 'node:assert/strict';
import { deviceTokenStoreContract, sessionStoreContract } from '@switchboard/auth/testing';

export async function check(): Promise<void> {
  // The contracts register vitest suites: calling them needs a vitest run, importing does not.
  ok(typeof sessionStoreContract === 'function' && typeof deviceTokenStoreContract === 'function');
}
