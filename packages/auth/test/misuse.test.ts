import { describe, expect, test } from 'vitest';
import { type AuthOptions, createAuth } from '../src/index.ts';

const fastArgon2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

describe('createAuth misuse', () => {
  test('missing issuer or audience is a TypeError before any warning about keys', async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) };
    await expect(createAuth({ logger } as unknown as AuthOptions)).rejects.toThrow(
      new TypeError('createAuth: `issuer` must be a non-empty string'),
    );
    await expect(createAuth({ issuer: 'https://a.test', logger } as unknown as AuthOptions)).rejects.toThrow(
      new TypeError('createAuth: `audience` must be a non-empty string'),
    );
    expect(warnings).toEqual([]);
  });

  test('an empty key list is a TypeError, not a silent ephemeral key; no keys at all still warns and works', async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) };
    await expect(createAuth({ issuer: 'https://a.test', audience: 'api', keys: [], logger })).rejects.toThrow(
      /`keys` must hold at least one signing key/,
    );
    await expect(createAuth({ issuer: 'https://a.test', audience: 'api', keys: 'k' as never, logger })).rejects.toThrow(
      /`keys` must hold at least one signing key/,
    );
    expect(warnings).toEqual([]);
    const auth = await createAuth({ issuer: 'https://a.test', audience: 'api', logger, password: fastArgon2 });
    expect(warnings).toEqual([expect.stringContaining('ephemeral')]);
    await auth.close();
  });

  test('hashing an empty password is a TypeError; verifying one is a failed check', async () => {
    const auth = await createAuth({
      issuer: 'https://a.test',
      audience: 'api',
      logger: { warn: () => undefined },
      password: fastArgon2,
    });
    await expect(auth.hashPassword('')).rejects.toThrow(new TypeError('cannot hash an empty password'));
    const stored = await auth.hashPassword('correct horse battery staple');
    await expect(auth.verifyPassword(stored, '')).resolves.toMatchObject({ ok: false });
    await auth.close();
  });
});
