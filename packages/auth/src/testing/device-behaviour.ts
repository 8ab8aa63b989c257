import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { createAuth, type DeviceTokenStore, generateSigningKey, type NewDeviceToken } from '../index.ts';

const base = {
  issuer: 'https://auth.switchboard.test',
  audience: 'switchboard-api',
  password: { memoryCost: 1_024, timeCost: 1 },
};

/**
 * Device tokens through `createAuth` over a device-token store: run against memory (unit) and
 * Postgres (integration), so both stores are held to the same attacks.
 */
export function describeDeviceTokens(
  storeName: string,
  makeStore: () => Promise<DeviceTokenStore> | DeviceTokenStore,
): void {
  async function setup(extra: Partial<Parameters<typeof createAuth>[0]> = {}, devices?: DeviceTokenStore) {
    return createAuth({
      ...base,
      keys: [await generateSigningKey()],
      stores: { devices: devices ?? (await makeStore()) },
      ...extra,
    });
  }

  describe(`createAuth: device tokens (${storeName} store)`, () => {
    test('an issued device token is opaque and verifies for its user', async () => {
      const auth = await setup();
      const token = await auth.issueDeviceToken('alice');
      expect(token).toMatch(/^dt_[A-Za-z0-9_-]{43}$/);
      expect(await auth.verifyDeviceToken(token, 'alice')).toBe(true);
      expect(await auth.issueDeviceToken('alice')).not.toBe(token);
    });

    test("attack: Alice's device token presented for Bob does not verify, nor burn Alice's token", async () => {
      const auth = await setup({ deviceTokenMaxFailures: 2 });
      const alices = await auth.issueDeviceToken('alice');
      await auth.issueDeviceToken('bob');
      expect(await auth.verifyDeviceToken(alices, 'bob')).toBe(false);
      // Wrong passwords for Bob with Alice's token count nothing against it.
      for (let i = 0; i < 5; i++) expect(await auth.recordDeviceFailure(alices, 'bob')).toBe('unknown');
      expect(await auth.verifyDeviceToken(alices, 'alice')).toBe(true);
    });

    test('attack: forged, random and malformed device tokens never verify, and never throw', async () => {
      const auth = await setup();
      const real = await auth.issueDeviceToken('alice');
      const forged = [
        `dt_${'A'.repeat(43)}`,
        `dt_${real.slice(3, -1)}${real.endsWith('A') ? 'B' : 'A'}`, // one character off
        real.slice(3), // without its prefix
        `${real}x`,
        'dt_',
        '',
        'x'.repeat(10_000),
        undefined as unknown as string,
        null as unknown as string,
        42 as unknown as string,
      ];
      for (const token of forged) {
        expect(await auth.verifyDeviceToken(token, 'alice')).toBe(false);
        expect(await auth.recordDeviceFailure(token, 'alice')).toBe('unknown');
      }
      expect(await auth.verifyDeviceToken(real, '')).toBe(false);
      expect(await auth.verifyDeviceToken(real, 'alice')).toBe(true);
    });

    test("attack: strangers' failed logins for a user leave the owner's device token working", async () => {
      // Ten client addresses × ten wrong guesses: none of them holds a device token of the user.
      const auth = await setup();
      const owners = await auth.issueDeviceToken('alice');
      for (let address = 0; address < 10; address++) {
        for (let guess = 0; guess < 10; guess++) {
          const theirs = `dt_${Buffer.from(`${address}:${guess}`.padEnd(32, '.')).toString('base64url')}`;
          expect(await auth.recordDeviceFailure(theirs, 'alice')).toBe('unknown');
        }
      }
      expect(await auth.verifyDeviceToken(owners, 'alice')).toBe(true);
    });

    test('the 21st device token of a user evicts the oldest (default cap 20), other users untouched', async () => {
      const auth = await setup();
      const bobs = await auth.issueDeviceToken('bob');
      const tokens: string[] = [];
      for (let i = 0; i < 21; i++) tokens.push(await auth.issueDeviceToken('alice'));
      expect(await auth.verifyDeviceToken(tokens[0] as string, 'alice')).toBe(false);
      for (const token of tokens.slice(1)) expect(await auth.verifyDeviceToken(token, 'alice')).toBe(true);
      expect(await auth.verifyDeviceToken(bobs, 'bob')).toBe(true);
      // The 22nd drops the (now) oldest: the second issued.
      await auth.issueDeviceToken('alice');
      expect(await auth.verifyDeviceToken(tokens[1] as string, 'alice')).toBe(false);
      expect(await auth.verifyDeviceToken(tokens[2] as string, 'alice')).toBe(true);
    });

    test('maxDeviceTokensPerUser sets the cap', async () => {
      const auth = await setup({ maxDeviceTokensPerUser: 2 });
      const [first, second, third] = [
        await auth.issueDeviceToken('alice'),
        await auth.issueDeviceToken('alice'),
        await auth.issueDeviceToken('alice'),
      ];
      expect(await auth.verifyDeviceToken(first, 'alice')).toBe(false);
      expect(await auth.verifyDeviceToken(second, 'alice')).toBe(true);
      expect(await auth.verifyDeviceToken(third, 'alice')).toBe(true);
    });

    test('attack: a stolen device token used to guess passwords dies after deviceTokenMaxFailures', async () => {
      const auth = await setup({ deviceTokenMaxFailures: 3 });
      const stolen = await auth.issueDeviceToken('alice');
      const other = await auth.issueDeviceToken('alice');
      expect(await auth.recordDeviceFailure(stolen, 'alice')).toBe('counted');
      expect(await auth.recordDeviceFailure(stolen, 'alice')).toBe('counted');
      expect(await auth.verifyDeviceToken(stolen, 'alice')).toBe(true);
      expect(await auth.recordDeviceFailure(stolen, 'alice')).toBe('revoked');
      expect(await auth.verifyDeviceToken(stolen, 'alice')).toBe(false);
      expect(await auth.recordDeviceFailure(stolen, 'alice')).toBe('unknown');
      // Only that token: the user's other devices keep theirs.
      expect(await auth.verifyDeviceToken(other, 'alice')).toBe(true);
    });

    test('the default failure limit is 5', async () => {
      const auth = await setup();
      const token = await auth.issueDeviceToken('alice');
      for (let i = 0; i < 4; i++) expect(await auth.recordDeviceFailure(token, 'alice')).toBe('counted');
      expect(await auth.recordDeviceFailure(token, 'alice')).toBe('revoked');
      expect(await auth.verifyDeviceToken(token, 'alice')).toBe(false);
    });

    test('concurrent failures each count: the limit cannot be outrun', async () => {
      const auth = await setup({ deviceTokenMaxFailures: 5 });
      const token = await auth.issueDeviceToken('alice');
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => auth.recordDeviceFailure(token, 'alice')));
      expect(outcomes.filter((outcome) => outcome === 'counted')).toHaveLength(4);
      expect(outcomes.filter((outcome) => outcome === 'revoked')).toHaveLength(1);
      expect(await auth.verifyDeviceToken(token, 'alice')).toBe(false);
    });

    test("revokeAllSessions revokes the user's device tokens too; revokeDeviceTokens only them", async () => {
      const auth = await setup();
      const laptop = await auth.issueDeviceToken('alice');
      const phone = await auth.issueDeviceToken('alice');
      const bobs = await auth.issueDeviceToken('bob');
      await auth.issueTokens({ id: 'alice' });
      expect(await auth.revokeAllSessions('alice')).toBe(1);
      for (const token of [laptop, phone]) expect(await auth.verifyDeviceToken(token, 'alice')).toBe(false);
      expect(await auth.verifyDeviceToken(bobs, 'bob')).toBe(true);

      const again = await auth.issueDeviceToken('alice');
      const pair = await auth.issueTokens({ id: 'alice' });
      expect(await auth.revokeDeviceTokens('alice')).toBe(1);
      expect(await auth.verifyDeviceToken(again, 'alice')).toBe(false);
      expect((await auth.verifyAccessToken(pair.accessToken)).userId).toBe('alice');
    });

    test('an expired device token does not verify, nor count failures', async () => {
      const auth = await setup({ deviceTokenTtlMs: 40 });
      const token = await auth.issueDeviceToken('alice');
      expect(await auth.verifyDeviceToken(token, 'alice')).toBe(true);
      await sleep(60);
      expect(await auth.verifyDeviceToken(token, 'alice')).toBe(false);
      expect(await auth.recordDeviceFailure(token, 'alice')).toBe('unknown');
    });

    test('the store receives a hash of the token, never the token', async () => {
      const inner = await makeStore();
      const added: NewDeviceToken[] = [];
      const spying: DeviceTokenStore = {
        ...inner,
        add: (token, maxPerUser) => {
          added.push(token);
          return inner.add(token, maxPerUser);
        },
      };
      const auth = await setup({}, spying);
      const token = await auth.issueDeviceToken('alice');
      expect(added[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(added)).not.toContain(token.slice(3));
    });

    test('bad options and bad user ids are TypeErrors', async () => {
      for (const bad of [
        { deviceTokenTtlMs: 0 },
        { maxDeviceTokensPerUser: 0 },
        { maxDeviceTokensPerUser: 1.5 },
        { deviceTokenMaxFailures: 0 },
        { deviceTokenMaxFailures: Number.NaN },
      ]) {
        await expect(setup(bad)).rejects.toThrow(TypeError);
      }
      const auth = await setup();
      await expect(auth.issueDeviceToken('')).rejects.toThrow(TypeError);
      await expect(auth.revokeDeviceTokens(undefined as unknown as string)).rejects.toThrow(TypeError);
    });
  });
}
