import { hash } from '@node-rs/argon2';
import { describe, expect, test, vi } from 'vitest';
import { type Argon2Functions, AuthBusyError, createAuth, createPasswordHasher } from '../src/index.ts';

const fast = { memoryCost: 1_024, timeCost: 1, parallelism: 1 };

/** argon2 whose verifications hold their slot until `open()`: the queue is observable, not timed. */
function gated(): Argon2Functions & { open(): void; started: number } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const fake = {
    started: 0,
    open: () => open(),
    hash: (password: string, params: Parameters<Argon2Functions['hash']>[1]) => hash(password, params),
    verify: async (stored: string, password: string) => {
      fake.started++;
      await gate;
      return stored === `hash:${password}`;
    },
  };
  return fake;
}

describe('password work queue', () => {
  test('attack: a burst far beyond concurrency + queue gets BUSY at once; the rest succeed; capacity comes back', async () => {
    const argon2 = gated();
    const hasher = createPasswordHasher({ params: fast, argon2, concurrency: 2, queueSize: 3 });
    const burst = Array.from({ length: 50 }, (_, i) =>
      hasher.verify(i % 2 === 0 ? 'hash:pw' : null, 'pw').then(
        (check) => ({ check }),
        (error: unknown) => ({ error }),
      ),
    );
    // The excess is refused before any argon2 work finishes (no hang).
    const settledEarly = await Promise.race([
      Promise.all(burst.slice(5)),
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 1_000)),
    ]);
    expect(settledEarly).not.toBe('timeout');
    const refused = settledEarly as { error?: unknown }[];
    expect(refused.every((result) => result.error instanceof AuthBusyError)).toBe(true);
    const busy = refused[0]?.error as AuthBusyError;
    expect(busy).toMatchObject({ code: 'BUSY', retryAfterMs: expect.any(Number) });
    expect(busy.retryAfterMs).toBeGreaterThan(0);
    // Only `concurrency` verifications run at once (the unknown user's first awaits the dummy hash).
    await vi.waitFor(() => expect(argon2.started).toBe(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(argon2.started).toBe(2);

    argon2.open();
    const accepted = await Promise.all(burst.slice(0, 5));
    expect(accepted.map((result) => 'check' in result && result.check.ok)).toEqual([true, false, true, false, true]);
    expect(argon2.started).toBe(5);

    // Afterwards the whole capacity is free again.
    const again = await Promise.all(Array.from({ length: 5 }, () => hasher.verify('hash:pw', 'pw')));
    expect(again.every((check) => check.ok)).toBe(true);
  });

  test('an unknown user waits in the same queue and is refused alike (no enumeration through BUSY)', async () => {
    const argon2 = gated();
    const hasher = createPasswordHasher({ params: fast, argon2, concurrency: 1, queueSize: 0 });
    const running = hasher.verify('hash:pw', 'pw');
    await expect(hasher.verify(null, 'pw')).rejects.toMatchObject({ code: 'BUSY' });
    await expect(hasher.verify('hash:pw', 'pw')).rejects.toMatchObject({ code: 'BUSY' });
    await expect(hasher.hash('new password')).rejects.toMatchObject({ code: 'BUSY' });
    argon2.open();
    expect((await running).ok).toBe(true);
  });

  test('createAuth takes passwordConcurrency and passwordQueueSize, and refuses nonsense', async () => {
    const auth = await createAuth({
      issuer: 'https://auth.switchboard.test',
      audience: 'switchboard-api',
      logger: { warn: () => undefined },
      password: fast,
      passwordConcurrency: 1,
      passwordQueueSize: 1,
    });
    const stored = await auth.hashPassword('correct horse battery staple');
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => auth.verifyPassword(stored, 'correct horse battery staple')),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    expect(results.filter((result) => result.status === 'rejected').map((result) => result.reason.code)).toEqual([
      'BUSY',
      'BUSY',
      'BUSY',
      'BUSY',
    ]);
    await auth.close();
    expect(() => createPasswordHasher({ concurrency: 0 })).toThrow(
      new TypeError('createPasswordHasher: `concurrency` must be a whole number >= 1, got 0'),
    );
    expect(() => createPasswordHasher({ queueSize: -1 })).toThrow(
      new TypeError('createPasswordHasher: `queueSize` must be a whole number >= 0, got -1'),
    );
    const base = { issuer: 'https://a.test', audience: 'api', logger: { warn: () => undefined } };
    await expect(createAuth({ ...base, passwordConcurrency: 1.5 })).rejects.toThrow(
      new TypeError('createAuth: `passwordConcurrency` must be a whole number >= 1, got 1.5'),
    );
    await expect(createAuth({ ...base, passwordQueueSize: -1 })).rejects.toThrow(
      new TypeError('createAuth: `passwordQueueSize` must be a whole number >= 0, got -1'),
    );
  });
});
