import { hash, verify } from '@node-rs/argon2';
import { describe, expect, test } from 'vitest';
import { type Argon2Functions, createPasswordHasher } from '../src/index.ts';

// Cheap parameters for speed where cost is not what is tested.
const fast = { memoryCost: 1_024, timeCost: 1, parallelism: 1 };

function counting(): Argon2Functions & { hashes: number; verifies: string[] } {
  const counter = {
    hashes: 0,
    verifies: [] as string[],
    hash: (password: string, options: Parameters<Argon2Functions['hash']>[1]) => {
      counter.hashes++;
      return hash(password, options);
    },
    verify: (stored: string, password: string) => {
      counter.verifies.push(stored);
      return verify(stored, password);
    },
  };
  return counter;
}

describe('createPasswordHasher', () => {
  test('argon2id with the OWASP parameters by default', async () => {
    const hashed = await createPasswordHasher().hash('correct horse battery staple');
    expect(hashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  test('verifies the right password, refuses a wrong one', async () => {
    const hasher = createPasswordHasher({ params: fast });
    const stored = await hasher.hash('correct horse battery staple');
    expect(await hasher.verify(stored, 'correct horse battery staple')).toEqual({ ok: true, needsRehash: false });
    expect(await hasher.verify(stored, 'correct horse battery stapl')).toEqual({ ok: false, needsRehash: false });
  });

  test('needsRehash when the parameters changed since the hash was made', async () => {
    const old = await createPasswordHasher({ params: fast }).hash('pw-1234567890123');
    const today = createPasswordHasher({ params: { ...fast, timeCost: 2 } });
    expect(await today.verify(old, 'pw-1234567890123')).toEqual({ ok: true, needsRehash: true });
    expect(await today.verify(old, 'wrong')).toEqual({ ok: false, needsRehash: false });
  });

  test('attack: user enumeration. An unknown user runs a full verify against a dummy hash and answers like a wrong password', async () => {
    const argon2 = counting();
    const hasher = createPasswordHasher({ params: fast, argon2 });
    const stored = await hasher.hash('real password 123');
    argon2.verifies.length = 0;
    const wrongPassword = await hasher.verify(stored, 'guess');
    const unknownUser = await hasher.verify(null, 'guess');
    expect(unknownUser).toEqual(wrongPassword);
    // Both paths did exactly one argon2 verify, with a hash of the same parameters.
    expect(argon2.verifies).toHaveLength(2);
    const params = (phc: string) => phc.split('$')[3];
    expect(params(argon2.verifies[1] as string)).toBe(params(argon2.verifies[0] as string));
    // The dummy hash is made once, not per attempt.
    const hashesBefore = argon2.hashes;
    await hasher.verify(null, 'guess again');
    expect(argon2.hashes).toBe(hashesBefore);
  });

  test('attack: enumeration through accounts with no usable hash (SSO-only, corrupt) also costs a full verify', async () => {
    const argon2 = counting();
    const hasher = createPasswordHasher({ params: fast, argon2 });
    await hasher.verify(null, 'warm up');
    argon2.verifies.length = 0;
    expect(await hasher.verify('', 'guess')).toEqual({ ok: false, needsRehash: false });
    // The failed parse of '' plus the dummy verify: the same argon2 work as a real check.
    expect(argon2.verifies.filter((stored) => stored.startsWith('$argon2id$'))).toHaveLength(1);
  });

  test('a corrupt stored hash is a failed login, not a crash; absurd input is refused', async () => {
    const hasher = createPasswordHasher({ params: fast });
    expect(await hasher.verify('$argon2id$garbage', 'pw')).toEqual({ ok: false, needsRehash: false });
    await expect(hasher.hash('x'.repeat(5_000))).rejects.toThrow(TypeError);
    expect(() => createPasswordHasher({ params: { timeCost: 0 } })).toThrow(/timeCost/);
  });
});
