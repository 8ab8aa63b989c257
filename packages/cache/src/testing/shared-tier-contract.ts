import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { encodeEnvelope } from '../envelope.ts';
import { jsonSerializer } from '../serializer.ts';
import type { SharedTier } from '../types.ts';

/** Options of `sharedTierContract`. */
export interface SharedTierContractOptions {
  /** Names the suite. */
  name: string;
  /**
   * The tier under test, called once per test. Tests use keys and tags of their own, so it may
   * return the same tier every time (over data other tests of the run also use).
   */
  tier: () => SharedTier;
  /**
   * A second handle on the same data, as another instance would have (Redis: a tier over a
   * second client). @default the same tier
   */
  peerTier?: () => SharedTier;
  /**
   * Lets the tier's clock move on by `ms` (a fake clock, or a real sleep for Redis), for the
   * tests of expiry. @default a real sleep
   */
  advance?: (ms: number) => Promise<void>;
}

/** One behaviour of the contract: a vitest test each in `sharedTierContract`. */
export interface SharedTierCheck {
  readonly name: string;
  run(): Promise<void>;
}

let unique = 0;
const HOUR_MS = 3_600_000;
const SHORT_TTL_MS = 500;

/**
 * The behaviour every shared tier (L2) must have, as a vitest suite: compare-and-set writes
 * against key and tag generations, deletes and `set` that make in-flight fetches lose, tag
 * bumps that are atomic and invalidate entries the read did not name, expiry, locks held by
 * one token, reads issued together each answered for themselves, and a second instance
 * seeing the same data. Run it against your own tier to know the cache stays correct over it.
 *
 * What a tier stores is the cache's envelope: one line of JSON header whose `t` lists the
 * entry's `[tag, generation]` pairs, a newline, then the serialized value. `readValidated`
 * reads that header.
 *
 * @example
 * sharedTierContract({ name: 'my tier', tier: () => myTier });
 */
export function sharedTierContract(options: SharedTierContractOptions): void {
  describe(`shared tier contract: ${options.name}`, () => {
    for (const check of sharedTierChecks(options)) test(check.name, () => check.run());
  });
}

/** The contract's behaviours as plain functions: a failed expectation rejects. */
export function sharedTierChecks(options: SharedTierContractOptions): SharedTierCheck[] {
  const tierOf = options.tier;
  const peerOf = options.peerTier ?? options.tier;
  const advance = options.advance ?? ((ms: number) => sleep(ms));
  const fresh = (label: string) => `contract-${label}-${process.pid}-${Date.now().toString(36)}-${++unique}`;
  /** An envelope as the cache writes it, carrying these tag generations. */
  const envelope = (value: unknown, tags: readonly (readonly [string, number])[] = []) =>
    encodeEnvelope(
      { id: fresh('id'), value, freshUntil: Date.now() + HOUR_MS, graceUntil: Date.now() + HOUR_MS, tags },
      jsonSerializer,
    );
  const noTags = { tags: [], gens: [] };

  return [
    {
      name: 'a key never written reads as missing, with generation 0 for it and every tag asked',
      async run() {
        const tier = tierOf();
        const [key, a, b] = [fresh('k'), fresh('a'), fresh('b')];
        expect(await tier.read(key, [a, b])).toEqual({ raw: null, keyGen: 0, gens: [0, 0] });
        expect(await tier.readValidated(key, [b])).toEqual({ raw: null, keyGen: 0, gens: [0] });
      },
    },
    {
      name: 'set stores the envelope exactly as given (newlines, quotes, non-ASCII)',
      async run() {
        const tier = tierOf();
        const key = fresh('exact');
        const raw = envelope({ text: 'line one\nline "two"\r\n\tü 🚀 \\ \u2028', n: 1.5 });
        await tier.set(key, raw, HOUR_MS);
        expect((await tier.read(key, [])).raw).toBe(raw);
        expect((await tier.readValidated(key, [])).raw).toBe(raw);
      },
    },
    {
      name: 'set bumps the key generation: a fetch that read before it cannot store over it',
      async run() {
        const tier = tierOf();
        const key = fresh('set-wins');
        const before = await tier.read(key, []);
        const newer = envelope('set');
        await tier.set(key, newer, HOUR_MS);
        const after = await tier.read(key, []);
        expect(after.keyGen).toBeGreaterThan(before.keyGen);
        expect(await tier.write(key, envelope('stale fetch'), HOUR_MS, { keyGen: before.keyGen, ...noTags })).toBe(
          false,
        );
        expect((await tier.read(key, [])).raw).toBe(newer);
      },
    },
    {
      name: 'write stores only while the key and every tag still have the generations read before',
      async run() {
        const tier = tierOf();
        const [key, tag, other] = [fresh('cas'), fresh('t'), fresh('t')];
        const tags = [tag, other];
        const first = await tier.read(key, tags);
        const stored = envelope('first', [
          [tag, first.gens[0] ?? 0],
          [other, first.gens[1] ?? 0],
        ]);
        expect(await tier.write(key, stored, HOUR_MS, { keyGen: first.keyGen, tags, gens: first.gens })).toBe(true);
        expect((await tier.read(key, tags)).raw).toBe(stored);
        // A write does not bump the key: the same snapshot may store again.
        expect((await tier.read(key, tags)).keyGen).toBe(first.keyGen);

        await tier.bumpTag(other);
        const stale = envelope('stale');
        expect(await tier.write(key, stale, HOUR_MS, { keyGen: first.keyGen, tags, gens: first.gens })).toBe(false);
        expect((await tier.read(key, tags)).raw).toBe(stored);

        const now = await tier.read(key, tags);
        const current = envelope('current');
        expect(await tier.write(key, current, HOUR_MS, { keyGen: now.keyGen, tags, gens: now.gens })).toBe(true);
        expect((await tier.read(key, tags)).raw).toBe(current);
        // A generation from the future is no match either.
        expect(await tier.write(key, stale, HOUR_MS, { keyGen: now.keyGen + 1, tags, gens: now.gens })).toBe(false);
        expect((await tier.read(key, tags)).raw).toBe(current);
      },
    },
    {
      name: 'delete removes every key given and bumps their generations; other keys stay',
      async run() {
        const tier = tierOf();
        const [a, b, kept] = [fresh('del'), fresh('del'), fresh('kept')];
        for (const key of [a, b, kept]) await tier.set(key, envelope(key), HOUR_MS);
        const before = await tier.read(a, []);
        await tier.delete([a, b]);
        await tier.delete([]);
        const after = await tier.read(a, []);
        expect(after.raw).toBeNull();
        expect(after.keyGen).toBeGreaterThan(before.keyGen);
        expect((await tier.read(b, [])).raw).toBeNull();
        expect((await tier.read(kept, [])).raw).not.toBeNull();
        // A fetch that read before the delete cannot bring the value back.
        expect(await tier.write(a, envelope('stale'), HOUR_MS, { keyGen: before.keyGen, ...noTags })).toBe(false);
        expect((await tier.read(a, [])).raw).toBeNull();
        // Deleting a key never written still bumps it.
        const never = fresh('never');
        await tier.delete([never]);
        expect((await tier.read(never, [])).keyGen).toBeGreaterThan(0);
      },
    },
    {
      name: 'bumpTag returns the new generation (1 for a tag never bumped), and read reports each tag asked, in order',
      async run() {
        const tier = tierOf();
        const [key, a, b, c] = [fresh('k'), fresh('a'), fresh('b'), fresh('c')];
        expect(await tier.bumpTag(a)).toBe(1);
        expect(await tier.bumpTag(a)).toBe(2);
        expect(await tier.bumpTag(c)).toBe(1);
        expect(await tier.read(key, [b, a, c])).toEqual({ raw: null, keyGen: 0, gens: [0, 2, 1] });
        expect((await tier.readValidated(key, [c, a])).gens).toEqual([1, 2]);
      },
    },
    {
      name: 'concurrent bumps of one tag are each counted once',
      async run() {
        const tier = tierOf();
        const tag = fresh('race');
        const gens = await Promise.all(Array.from({ length: 50 }, () => tier.bumpTag(tag)));
        expect(gens.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect((await tier.read(fresh('k'), [tag])).gens).toEqual([50]);
      },
    },
    {
      name: 'readValidated drops an entry once one of its own tags was bumped, named in the read or not',
      async run() {
        const tier = tierOf();
        const [key, tag, named] = [fresh('v'), fresh('own'), fresh('named')];
        const raw = envelope('tagged', [
          [tag, 0],
          [named, 0],
        ]);
        await tier.set(key, raw, HOUR_MS);
        expect((await tier.readValidated(key, [])).raw).toBe(raw);
        expect((await tier.readValidated(key, [named])).raw).toBe(raw);
        const gen = await tier.bumpTag(tag);
        const dropped = await tier.readValidated(key, [named]);
        expect(dropped.raw).toBeNull();
        expect(dropped.gens).toEqual([0]);
        expect((await tier.readValidated(key, [])).raw).toBeNull();
        // An entry written at the current generation is valid again.
        const current = envelope('current', [[tag, gen]]);
        await tier.set(key, current, HOUR_MS);
        expect((await tier.readValidated(key, [])).raw).toBe(current);
      },
    },
    {
      name: 'entries expire after the TTL they were stored with (set and write alike)',
      async run() {
        const tier = tierOf();
        const [short, written, long] = [fresh('ttl'), fresh('ttl'), fresh('ttl')];
        // Short TTLs, yet long enough for the next call to see the entry on a loaded machine.
        await tier.set(short, envelope('short'), SHORT_TTL_MS);
        expect((await tier.read(short, [])).raw).not.toBeNull();
        await tier.set(long, envelope('long'), HOUR_MS);
        const snapshot = await tier.read(written, []);
        expect(await tier.write(written, envelope('w'), SHORT_TTL_MS, { keyGen: snapshot.keyGen, ...noTags })).toBe(
          true,
        );
        expect((await tier.read(written, [])).raw).not.toBeNull();
        await advance(2 * SHORT_TTL_MS);
        expect((await tier.read(short, [])).raw).toBeNull();
        expect((await tier.read(written, [])).raw).toBeNull();
        expect((await tier.read(long, [])).raw).not.toBeNull();
      },
    },
    {
      name: 'a lock has one holder, is released only with its token, and expires after its TTL',
      async run() {
        const tier = tierOf();
        const key = fresh('lock');
        expect(await tier.lock(key, 'a', HOUR_MS)).toBe(true);
        expect(await tier.lock(key, 'b', HOUR_MS)).toBe(false);
        expect(await tier.lock(key, 'a', HOUR_MS)).toBe(false);
        await tier.unlock(key, 'b');
        expect(await tier.lock(key, 'c', HOUR_MS)).toBe(false);
        await tier.unlock(key, 'a');
        expect(await tier.lock(key, 'b', SHORT_TTL_MS)).toBe(true);
        expect(await tier.lock(key, 'c', HOUR_MS)).toBe(false);
        expect(await tier.lock(fresh('other-lock'), 'c', HOUR_MS)).toBe(true);
        await advance(2 * SHORT_TTL_MS);
        expect(await tier.lock(key, 'c', HOUR_MS)).toBe(true);
        // b's lock expired and c holds it now: b's late unlock leaves it to c.
        await tier.unlock(key, 'b');
        expect(await tier.lock(key, 'd', HOUR_MS)).toBe(false);
      },
    },
    {
      name: 'concurrent lock attempts on one key: exactly one wins',
      async run() {
        const tier = tierOf();
        const key = fresh('lock-race');
        const won = await Promise.all(Array.from({ length: 20 }, (_, i) => tier.lock(key, `token-${i}`, HOUR_MS)));
        expect(won.filter(Boolean)).toHaveLength(1);
      },
    },
    {
      name: 'entries, key generations, tags and locks of the same name are kept apart',
      async run() {
        const tier = tierOf();
        const name = fresh('same');
        const raw = envelope('entry');
        await tier.set(name, raw, HOUR_MS);
        const { keyGen } = await tier.read(name, []);
        expect(await tier.lock(name, 'token', HOUR_MS)).toBe(true);
        await tier.bumpTag(name);
        expect(await tier.read(name, [name])).toEqual({ raw, keyGen, gens: [1] });
        await tier.delete([name]);
        expect(await tier.lock(name, 'other', HOUR_MS)).toBe(false);
        expect((await tier.read(name, [name])).gens).toEqual([1]);
        // Keys that differ by case, accents or separators are different keys.
        const variants = [`${name}-u`, `${name}-U`, `${name}-ü`, `${name}|e|x`, `${name} x`];
        for (const key of variants) await tier.set(key, envelope(key), HOUR_MS);
        for (const key of variants) expect((await tier.read(key, [])).raw).toContain(JSON.stringify(key));
      },
    },
    {
      name: 'reads issued together (hundreds, mixed tags, repeated keys) each get their own answer',
      async run() {
        const tier = tierOf();
        const tags = [fresh('t'), fresh('t'), fresh('t')];
        await tier.bumpTag(tags[1] as string);
        for (let i = 0; i < 3; i++) await tier.bumpTag(tags[2] as string);
        const keys = Array.from({ length: 300 }, (_, i) => fresh(`many-${i}`));
        const stored = new Map<string, string>();
        await Promise.all(
          keys.map(async (key, i) => {
            if (i % 3 === 0) return;
            const raw = envelope(i);
            stored.set(key, raw);
            await tier.set(key, raw, HOUR_MS);
          }),
        );
        const asked = keys.flatMap((key, i) => [
          { key, tags: tags.slice(i % 3, (i % 3) + (i % 2) + 1) },
          ...(i % 7 === 0 ? [{ key, tags: [] as string[] }] : []),
        ]);
        const answers = await Promise.all(asked.map((read) => tier.read(read.key, read.tags)));
        const genOf = new Map([
          [tags[0], 0],
          [tags[1], 1],
          [tags[2], 3],
        ]);
        answers.forEach((answer, i) => {
          const read = asked[i] as { key: string; tags: string[] };
          expect(answer.raw, read.key).toBe(stored.get(read.key) ?? null);
          expect(answer.gens, read.key).toEqual(read.tags.map((tag) => genOf.get(tag)));
          if (stored.has(read.key)) expect(answer.keyGen, read.key).toBeGreaterThan(0);
          else expect(answer.keyGen, read.key).toBe(0);
        });
      },
    },
    {
      name: 'a second instance sees the same entries, generations and locks',
      async run() {
        const [tier, peer] = [tierOf(), peerOf()];
        const [key, tag] = [fresh('shared'), fresh('shared-tag')];
        const raw = envelope('shared', [[tag, 0]]);
        await tier.set(key, raw, HOUR_MS);
        expect((await peer.read(key, [tag])).raw).toBe(raw);
        const gen = await peer.bumpTag(tag);
        expect((await tier.read(key, [tag])).gens).toEqual([gen]);
        expect((await tier.readValidated(key, [])).raw).toBeNull();
        expect(await tier.lock(key, 'mine', HOUR_MS)).toBe(true);
        expect(await peer.lock(key, 'theirs', HOUR_MS)).toBe(false);
        const snapshot = await tier.read(key, []);
        await peer.delete([key]);
        expect(await tier.write(key, raw, HOUR_MS, { keyGen: snapshot.keyGen, ...noTags })).toBe(false);
        expect((await tier.read(key, [])).raw).toBeNull();
      },
    },
  ];
}
