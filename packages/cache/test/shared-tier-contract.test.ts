import { describe, expect, test } from 'vitest';
import type { SharedRead, SharedTier } from '../src/index.ts';
import { type SharedTierContractOptions, sharedTierChecks } from '../src/testing/shared-tier-contract.ts';
import { sharedTierContract } from '../src/testing.ts';

/**
 * A shared tier in memory, written from the interface's documentation alone: the reference the
 * contract is checked against (it must pass), and the base of the broken tiers (they must not).
 */
function referenceTier(now: () => number): SharedTier {
  const entries = new Map<string, { raw: string; until: number }>();
  const keyGens = new Map<string, number>();
  const tagGens = new Map<string, number>();
  const locks = new Map<string, { token: string; until: number }>();
  const entryOf = (key: string) => {
    const stored = entries.get(key);
    return stored !== undefined && stored.until > now() ? stored.raw : null;
  };
  const readNow = (key: string, tags: readonly string[]): SharedRead => ({
    raw: entryOf(key),
    keyGen: keyGens.get(key) ?? 0,
    gens: tags.map((tag) => tagGens.get(tag) ?? 0),
  });
  // Like Redis, every call answers on a later turn.
  const later = <T>(value: () => T) => new Promise<T>((resolve) => setImmediate(() => resolve(value())));
  return {
    read: (key, tags) => later(() => readNow(key, tags)),
    readValidated: (key, tags) =>
      later(() => {
        const read = readNow(key, tags);
        if (read.raw === null) return read;
        const header = JSON.parse(read.raw.slice(0, read.raw.indexOf('\n'))) as { t: [string, number][] };
        const stale = header.t.some(([tag, gen]) => (tagGens.get(tag) ?? 0) > gen);
        return stale ? { ...read, raw: null } : read;
      }),
    write: (key, raw, ttlMs, expect) =>
      later(() => {
        if ((keyGens.get(key) ?? 0) !== expect.keyGen) return false;
        if (expect.tags.some((tag, i) => (tagGens.get(tag) ?? 0) !== expect.gens[i])) return false;
        entries.set(key, { raw, until: now() + ttlMs });
        return true;
      }),
    set: (key, raw, ttlMs) =>
      later(() => {
        entries.set(key, { raw, until: now() + ttlMs });
        keyGens.set(key, (keyGens.get(key) ?? 0) + 1);
      }),
    delete: (keys) =>
      later(() => {
        for (const key of keys) {
          entries.delete(key);
          keyGens.set(key, (keyGens.get(key) ?? 0) + 1);
        }
      }),
    bumpTag: (tag) =>
      later(() => {
        const gen = (tagGens.get(tag) ?? 0) + 1;
        tagGens.set(tag, gen);
        return gen;
      }),
    lock: (key, token, ttlMs) =>
      later(() => {
        const held = locks.get(key);
        if (held !== undefined && held.until > now()) return false;
        locks.set(key, { token, until: now() + ttlMs });
        return true;
      }),
    unlock: (key, token) =>
      later(() => {
        if (locks.get(key)?.token === token) locks.delete(key);
      }),
  };
}

/** A reference tier on a fake clock: one tier, its own peer, time moved by the suite. */
function onFakeClock(wrap: (tier: SharedTier) => SharedTier = (tier) => tier): SharedTierContractOptions {
  let at = 1_700_000_000_000;
  const tier = wrap(referenceTier(() => at));
  return {
    name: 'memory reference',
    tier: () => tier,
    advance: async (ms) => {
      at += ms;
    },
  };
}

/** The names of the contract's checks that fail against these options. */
async function failedChecks(options: SharedTierContractOptions): Promise<string[]> {
  const failed: string[] = [];
  for (const check of sharedTierChecks(options)) {
    try {
      await check.run();
    } catch {
      failed.push(check.name);
    }
  }
  return failed;
}

sharedTierContract(onFakeClock());

describe('sharedTierContract', () => {
  test('the reference tier passes every check', async () => {
    expect(await failedChecks(onFakeClock())).toEqual([]);
  });

  // Each a plausible bug in a hand-written tier, and the checks that must catch it.
  const broken: [string, (tier: SharedTier) => SharedTier, RegExp][] = [
    [
      'a write that skips compare-and-set',
      (tier) => ({
        ...tier,
        write: async (key, raw, ttlMs) => {
          await tier.write(key, raw, ttlMs, await generationsOf(tier, key));
          return true;
        },
      }),
      /^(set bumps the key generation|write stores only while|delete removes)/,
    ],
    [
      'a set that keeps the key generation',
      (tier) => ({
        ...tier,
        set: async (key, raw, ttlMs) => {
          await tier.write(key, raw, ttlMs, await generationsOf(tier, key));
        },
      }),
      /^set bumps the key generation/,
    ],
    [
      'a readValidated that does not read the entry’s own tags',
      (tier) => ({ ...tier, readValidated: (key, tags) => tier.read(key, tags) }),
      /^readValidated drops an entry/,
    ],
    [
      'a tag bump that reports what it read plus one',
      (tier) => ({
        ...tier,
        bumpTag: async (tag) => {
          const [gen = 0] = (await tier.read('#probe', [tag])).gens;
          await tier.bumpTag(tag);
          return gen + 1;
        },
      }),
      /^concurrent bumps/,
    ],
    [
      'an unlock that ignores the token',
      (tier) => {
        const holders = new Map<string, string>();
        return {
          ...tier,
          lock: async (key, token, ttlMs) => {
            const won = await tier.lock(key, token, ttlMs);
            if (won) holders.set(key, token);
            return won;
          },
          unlock: (key) => tier.unlock(key, holders.get(key) ?? ''),
        };
      },
      /^a lock has one holder/,
    ],
    [
      'reads issued in one turn that get the entry of the read before them',
      (tier) => {
        let previous: string | undefined;
        return {
          ...tier,
          read: async (key, tags) => {
            if (previous === undefined) setImmediate(() => (previous = undefined));
            const other = previous ?? key;
            previous = key;
            const [own, mixed] = await Promise.all([tier.read(key, tags), tier.read(other, [])]);
            return { ...own, raw: mixed.raw };
          },
        };
      },
      /^reads issued together/,
    ],
  ];

  test.each(broken)('a tier with %s fails the contract', async (_bug, wrap, expected) => {
    const failed = await failedChecks(onFakeClock(wrap));
    expect(failed.length).toBeGreaterThan(0);
    expect(
      failed.some((name) => expected.test(name)),
      failed.join('; '),
    ).toBe(true);
  });
});

async function generationsOf(tier: SharedTier, key: string) {
  return { keyGen: (await tier.read(key, [])).keyGen, tags: [], gens: [] };
}
