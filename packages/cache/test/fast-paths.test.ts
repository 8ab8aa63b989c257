import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeEnvelope, encodeEnvelope, parseHeaderJson, readHeader } from '../src/envelope.ts';
import { createCache, jsonSerializer, type SharedRead } from '../src/index.ts';
import { READ_WITHIN, type ReadsWithin } from '../src/internal.ts';
import { createRedisTier } from '../src/redis.ts';

// The fast paths of the L2 read, each checked against the general path it stands in for.

const tagPairs = fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.integer({ min: 0, max: 2 ** 40 })), {
  maxLength: 4,
});

describe('envelope header: the hand-written reader agrees with JSON.parse', () => {
  test('on every header encodeEnvelope writes (any id, times, tags, unicode and escapes included)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.double({ min: -1e16, max: 1e16, noNaN: true }),
        fc.double({ min: -1e16, max: 1e16, noNaN: true }),
        tagPairs,
        fc.jsonValue(),
        (id, freshUntil, graceUntil, tags, value) => {
          const raw = encodeEnvelope({ id, value, freshUntil, graceUntil, tags }, jsonSerializer);
          const end = raw.indexOf('\n');
          const general = parseHeaderJson(raw, end);
          const fast = readHeader(raw, end);
          if (fast !== undefined) expect(fast).toEqual(general);
          const decoded = decodeEnvelope(raw, jsonSerializer);
          expect(decoded).toEqual({
            id,
            value: jsonSerializer.deserialize(jsonSerializer.serialize(value)),
            freshUntil: Math.round(freshUntil) || 0,
            graceUntil: Math.round(graceUntil) || 0,
            tags: JSON.parse(JSON.stringify(tags)),
          });
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('takes the fast path for the headers this cache writes', () => {
    const raw = encodeEnvelope(
      { id: 'AbC-_9', value: 1, freshUntil: 1_764_000_000_000, graceUntil: 1_764_000_005_000, tags: [['#all', 3]] },
      jsonSerializer,
    );
    expect(readHeader(raw, raw.indexOf('\n'))).toEqual({
      i: 'AbC-_9',
      f: 1_764_000_000_000,
      g: 1_764_000_005_000,
      t: [['#all', 3]],
    });
  });

  test('on any other text: either declines, or reads exactly what JSON.parse reads', () => {
    const fragments = fc.constantFrom(
      '{"i":"',
      '","f":',
      ',"g":',
      ',"t":',
      '[["#all",0]]',
      '}',
      '0',
      '-',
      '12',
      '1.5',
      '1e3',
      '"',
      '\\',
      '\u0001',
      ' ',
      'x',
      '[',
      ']',
      ',',
      '00',
    );
    const wellFormed = fc
      .tuple(fc.string(), fc.integer(), fc.integer(), tagPairs)
      .map(([i, f, g, t]) => JSON.stringify({ i, f, g, t }));
    const mutated = fc
      .tuple(wellFormed, fc.nat(), fc.nat(), fc.array(fragments, { maxLength: 3 }))
      .map(([text, at, cut, inserted]) => {
        const start = at % (text.length + 1);
        return text.slice(0, start) + inserted.join('') + text.slice(Math.min(text.length, start + (cut % 4)));
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mutated,
          fc.array(fragments, { maxLength: 12 }).map((parts) => parts.join('')),
        ),
        (header) => {
          const raw = `${header}\n1`;
          const fast = readHeader(raw, header.length);
          if (fast === undefined) return;
          expect(fast).toEqual(parseHeaderJson(raw, header.length));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});

/** A node-redis-like client over a Map: MGET and nothing else, answering on a later turn. */
function fakeRedis(store: Map<string, string>) {
  const calls: string[][] = [];
  return {
    calls,
    client: {
      sendCommand(args: string[]): Promise<unknown> {
        calls.push(args);
        if (args[0] !== 'MGET') return Promise.reject(new Error(`unexpected ${args[0]}`));
        const reply = args.slice(1).map((key) => store.get(key) ?? null);
        return new Promise((resolve) => setImmediate(() => resolve(reply)));
      },
    },
  };
}

/** What one MGET for this read alone answers: the general path. */
function alone(store: Map<string, string>, prefix: string, key: string, tags: readonly string[]): SharedRead {
  const gen = (redisKey: string) => Number(store.get(redisKey) ?? 0);
  return {
    raw: store.get(`${prefix}|e|{${key}}`) ?? null,
    keyGen: gen(`${prefix}|k|{${key}}`),
    gens: tags.map((tag) => gen(`${prefix}|t|{${tag}}`)),
  };
}

describe('batched L2 reads agree with one read at a time', () => {
  const keyName = fc.constantFrom('a', 'b', 'c', 'user:1', 'user:2', 'x|y', 'ü');
  const tagName = fc.constantFrom('#all', 'ns:#all', 't1', 't2', 'user:1');

  test('any reads issued together, with repeated keys and shared tags, and batches past the size limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.oneof(
            keyName.map((key) => `p|e|{${key}}`),
            keyName.map((key) => `p|k|{${key}}`),
            tagName.map((tag) => `p|t|{${tag}}`),
          ),
          fc.oneof(fc.nat({ max: 99 }).map(String), fc.string()),
        ),
        fc.array(fc.tuple(keyName, fc.uniqueArray(tagName, { maxLength: 3 })), { minLength: 1, maxLength: 40 }),
        fc.nat({ max: 600 }),
        async (entries, reads, extra) => {
          const store = new Map(Object.entries(entries));
          // Generations are numbers in Redis: keep the random strings for entries only.
          for (const [redisKey, stored] of store)
            if (!redisKey.includes('|e|')) store.set(redisKey, String(Number(stored) || 0));
          const { client, calls } = fakeRedis(store);
          const tier = createRedisTier({ client, prefix: 'p' });
          const all = [...reads, ...Array.from({ length: extra }, (_, i) => reads[i % reads.length] ?? reads[0])];
          const results = await Promise.all(all.map((read) => tier.read(read?.[0] ?? 'a', read?.[1] ?? [])));
          results.forEach((result, i) => {
            const [key, tags] = all[i] ?? ['a', []];
            expect(result).toEqual(alone(store, 'p', key, tags));
          });
          // One MGET per 256 reads at most.
          expect(calls.length).toBe(Math.ceil(all.length / 256));
        },
      ),
      { numRuns: 200 },
    );
  }, 30_000);

  test('reads with different deadlines are batched apart and each keeps its own', async () => {
    const store = new Map([['p|e|{k}', 'v']]);
    let answer: ((reply: unknown) => void)[] = [];
    const client = {
      sendCommand(args: string[]): Promise<unknown> {
        return new Promise((resolve) => answer.push(() => resolve(args.slice(1).map((key) => store.get(key) ?? null))));
      },
    };
    const tier = createRedisTier({ client, prefix: 'p' }) as ReturnType<typeof createRedisTier> & ReadsWithin;
    // How the cache uses a batched read: its index, then the batch's one promise.
    const within = async (timeoutMs: number) => {
      const pending = tier[READ_WITHIN]('k', [], timeoutMs);
      const index = pending.size - 1;
      await pending.done;
      return pending.result(index);
    };
    const short = within(30);
    const long = within(5_000);
    const plain = tier.read('k', []);
    short.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answer.length).toBe(3);
    await expect(short).rejects.toThrow(/did not answer within 30 ms/);
    for (const resolve of answer) resolve(undefined);
    answer = [];
    await expect(long).resolves.toEqual({ raw: 'v', keyGen: 0, gens: [] });
    await expect(plain).resolves.toEqual({ raw: 'v', keyGen: 0, gens: [] });
  });

  test('a failed MGET fails every read in it, and the cache degrades to the fetcher', async () => {
    const client = { sendCommand: () => Promise.reject(new Error('connection lost')) };
    const tier = createRedisTier({ client, prefix: 'p' });
    await expect(Promise.all([tier.read('a', []), tier.read('b', ['t'])])).rejects.toThrow('connection lost');
    const cache = createCache({ l1: false, l2: tier });
    const values = await Promise.all([cache.getOrSet('a', () => 1), cache.getOrSet('b', () => 2)]);
    expect(values).toEqual([1, 2]);
    expect(cache.stats().errors).toBeGreaterThan(0);
  });

  test('a shared tier without the batched deadline still gets one, from the cache', async () => {
    let reads = 0;
    const slow = {
      read: () => {
        reads++;
        return new Promise<SharedRead>(() => undefined);
      },
    } as never;
    const cache = createCache({ l1: false, l2: slow, l2TimeoutMs: 20 });
    // Resolves at all: the read that never answers was cut off by the cache's deadline.
    expect(await cache.getOrSet('k', () => 'fetched')).toBe('fetched');
    expect(reads).toBe(1);
  });
});

describe('createRedisTier scripts, on either client', () => {
  const noScript = () => Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));

  test('node-redis: EVALSHA with string arguments, EVAL with the source after NOSCRIPT, EVALSHA again after', async () => {
    const sent: string[][] = [];
    let known = false;
    const client = {
      sendCommand(args: string[]): Promise<unknown> {
        sent.push(args);
        if (args[0] === 'EVALSHA' && !known) return noScript();
        if (args[0] === 'EVAL') known = true;
        return Promise.resolve(7);
      },
    };
    const tier = createRedisTier({ client, prefix: 'p', tagGenerationTtlMs: 60_000 });
    expect(await tier.bumpTag('t')).toBe(7);
    expect(await tier.bumpTag('t')).toBe(7);
    expect(sent.map((args) => args[0])).toEqual(['EVALSHA', 'EVAL', 'EVALSHA']);
    expect(sent[0]?.slice(2)).toEqual(['1', 'p|t|{t}', '60000']);
    expect(sent[0]?.[1]).toMatch(/^[0-9a-f]{40}$/);
    expect(sent[1]?.[1]).toContain("redis.call('INCR', KEYS[1])");
    expect(sent[1]?.slice(2)).toEqual(sent[0]?.slice(2));
    expect(sent.flat().every((arg) => typeof arg === 'string')).toBe(true);
  });

  test('ioredis: its own evalsha, and call for EVAL after NOSCRIPT; other errors are not retried', async () => {
    const calls: string[] = [];
    const client = {
      evalsha: (..._args: (string | number)[]) => {
        calls.push('evalsha');
        return calls.length === 1 ? noScript() : Promise.reject(new Error('READONLY'));
      },
      call: (command: string, ..._args: (string | number)[]) => {
        calls.push(command);
        return Promise.resolve(1);
      },
    };
    const tier = createRedisTier({ client, prefix: 'p' });
    expect(await tier.write('k', 'raw', 1_000, { keyGen: 0, tags: [], gens: [] })).toBe(true);
    await expect(tier.set('k', 'raw', 1_000)).rejects.toThrow('READONLY');
    expect(calls).toEqual(['evalsha', 'EVAL', 'evalsha']);
  });

  test('bad generation TTLs are refused at construction', () => {
    const client = { call: () => Promise.resolve(null) };
    expect(() => createRedisTier({ client, keyGenerationTtlMs: 0 })).toThrow(
      new TypeError('createRedisTier: `keyGenerationTtlMs` must be a whole number >= 1, got 0'),
    );
    expect(() => createRedisTier({ client, tagGenerationTtlMs: 1.5 })).toThrow(
      'createRedisTier: `tagGenerationTtlMs` must be a whole number >= 1, got 1.5',
    );
  });
});
