import { type DocumentNode, parse } from 'graphql';
import { describe, expect, test } from 'vitest';
import { createOperationCost } from '../src/yoga.ts';

const cost = createOperationCost();
const of = (query: string, variables: Record<string, unknown> = {}, operationName?: string) =>
  cost(parse(query), variables, operationName);

describe('createOperationCost', () => {
  test('counts every selected field once, introspection fields included', () => {
    expect(of('{ a }')).toBe(1);
    expect(of('{ a b { c d { e } } }')).toBe(5);
    expect(of('{ __typename }')).toBe(1);
    expect(of('{ __schema { types { name fields { name } } } }')).toBe(5);
    expect(of('{ __type(name: "Query") { name } }')).toBe(2);
  });

  test('a list argument multiplies the cost of the selections under it, literal or variable', () => {
    expect(of('{ items(first: 10) { id name } }')).toBe(1 + 10 * 2);
    expect(of('{ items(last: 10) { id } }')).toBe(1 + 10);
    expect(of('{ items(limit: 3) { id } }')).toBe(1 + 3);
    expect(of('{ chats(first: 10) { id messages(last: 20) { id text } } }')).toBe(1 + 10 * (1 + 1 + 20 * 2));
    const query = 'query Q($n: Int) { items(first: $n) { id name } }';
    expect(of(query, { n: 30 })).toBe(1 + 30 * 2);
    expect(of(query, { n: 2 })).toBe(1 + 2 * 2);
    // Other arguments do not multiply; a scalar list field costs 1.
    expect(of('{ items(after: "x") { id } tags(first: 50) }')).toBe(2 + 1);
  });

  test('list sizes are capped; absent, null or odd values count as the default or 1', () => {
    expect(of('{ items(first: 100000) { id } }')).toBe(1 + 100);
    expect(of('query($n: Int) { items(first: $n) { id } }', { n: 1e9 })).toBe(1 + 100);
    expect(of('query($n: Int = 7) { items(first: $n) { id } }')).toBe(1 + 7);
    expect(of('query($n: Int = 7) { items(first: $n) { id } }', { n: null })).toBe(1 + 1);
    expect(of('query($n: Int) { items(first: $n) { id } }')).toBe(1 + 1);
    expect(of('query($n: Int) { items(first: $n) { id } }', { n: 'many' })).toBe(1 + 1);
    expect(of('query($n: Int) { items(first: $n) { id } }', { n: -5 })).toBe(1);
    expect(of('{ items(first: 0) { id } }')).toBe(1);
    // Several list arguments: the largest.
    expect(of('query($n: Int) { items(first: 2, last: $n) { id } }', { n: 5 })).toBe(1 + 5);
    const small = createOperationCost({ maxListSize: 10, listArguments: ['take'] });
    expect(small(parse('{ items(take: 50) { id } other(first: 50) { id } }'), {})).toBe(1 + 10 + 2);
  });

  test('fragments count as their selections, once per selection set; inline fragments too', () => {
    const fragment = 'fragment F on Item { id name }';
    expect(of(`{ items(first: 2) { ...F } } ${fragment}`)).toBe(1 + 2 * 2);
    expect(of(`{ items(first: 2) { ...F ...F } } ${fragment}`)).toBe(1 + 2 * 2);
    expect(of(`{ a: items(first: 2) { ...F } b: items(first: 3) { ...F } } ${fragment}`)).toBe(1 + 4 + 1 + 6);
    expect(of('{ node { ... on Item { id name } } }')).toBe(3);
    expect(of(`query($n: Int) { items(first: $n) { ...F } } ${fragment}`, { n: 4 })).toBe(1 + 4 * 2);
  });

  test('nested fragments spread many times cost linear time, and the cost stays finite', () => {
    // Each level selects the previous one twice under list fields: 2^40 paths through the document.
    const levels = 40;
    const fragments = Array.from(
      { length: levels },
      (_, i) => `fragment F${i + 1} on Item { a: items(first: $n) { ...F${i} } b: items(first: $n) { ...F${i} } }`,
    ).join('\n');
    const query = `query($n: Int) { items(first: $n) { ...F${levels} } }\nfragment F0 on Item { id }\n${fragments}`;
    const started = performance.now();
    const value = of(query, { n: 100 });
    expect(performance.now() - started).toBeLessThan(200);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBe(Number.MAX_SAFE_INTEGER);
    // Cyclic or unknown spreads (refused by validation anyway) add nothing and do not hang.
    expect(of('{ items { ...A } } fragment A on Item { id ...B } fragment B on Item { ...A }')).toBe(2);
    expect(of('{ items { ...Missing } }')).toBe(1);
  });

  test('costs the named operation; without a usable name, the costliest one', () => {
    const document = '{ a } query Big { items(first: 10) { id } } query Small { b }';
    expect(of(document, {}, 'Small')).toBe(1);
    expect(of(document, {}, 'Big')).toBe(11);
    expect(of(document, {}, 'Nope')).toBe(11);
    expect(of(document)).toBe(11);
    expect(of('query Only { a b }')).toBe(2);
  });

  test('analyses each document once: later calls only apply the variables', () => {
    const count = createOperationCost();
    let reads = 0;
    const document = new Proxy(parse('query($n: Int) { items(first: $n) { id ...F } } fragment F on Item { name }'), {
      get(target, property, receiver) {
        if (property === 'definitions') reads++;
        return Reflect.get(target, property, receiver);
      },
    }) as DocumentNode;
    expect(count(document, { n: 5 })).toBe(1 + 5 * 2);
    expect(count(document, { n: 50 })).toBe(1 + 50 * 2);
    expect(count(document, {})).toBe(1 + 2);
    expect(reads).toBe(1);
    // Another cost function has its own cache; another document object is analysed afresh.
    createOperationCost()(document, {});
    expect(reads).toBe(2);
  });

  test('bad options throw TypeError', () => {
    expect(() => createOperationCost({ maxListSize: 0 })).toThrow(TypeError);
    expect(() => createOperationCost({ maxListSize: 1.5 })).toThrow(TypeError);
    expect(() => createOperationCost({ listArguments: [''] })).toThrow(TypeError);
  });
});
