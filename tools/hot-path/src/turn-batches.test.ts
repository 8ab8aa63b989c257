import { describe, expect, test } from 'vitest';
import { TurnBatches } from './turn-batches.ts';

const collector = (capacity = Number.POSITIVE_INFINITY) => {
  const sent: { key: string; items: number[] }[] = [];
  const batches = new TurnBatches<string, { key: string; items: number[] }>({
    create: (key) => ({ key, items: [] }),
    send: (batch) => sent.push(batch),
    isFull: (batch) => batch.items.length >= capacity,
  });
  return { sent, batches };
};

describe('TurnBatches', () => {
  test('sends the work of one turn as one batch per key, after the code that added it returns', async () => {
    const { sent, batches } = collector();
    batches.batchFor('a').items.push(1);
    batches.batchFor('b').items.push(2);
    batches.batchFor('a').items.push(3);
    expect(sent).toEqual([]);
    expect(batches.pending).toBe(true);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(sent).toEqual([
      { key: 'a', items: [1, 3] },
      { key: 'b', items: [2] },
    ]);
    expect(batches.pending).toBe(false);
  });

  test('starts another batch for a key when its batch is full, and a new turn starts fresh', async () => {
    const { sent, batches } = collector(2);
    for (const n of [1, 2, 3]) batches.batchFor('a').items.push(n);
    await new Promise((resolve) => setImmediate(resolve));
    batches.batchFor('a').items.push(4);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map((batch) => batch.items)).toEqual([[1, 2], [3], [4]]);
  });

  test('flush() sends what waits now, in start order, and the turn end then sends nothing twice', async () => {
    const { sent, batches } = collector();
    batches.batchFor('x').items.push(1);
    batches.batchFor('y').items.push(2);
    batches.flush();
    expect(sent.map((batch) => batch.key)).toEqual(['x', 'y']);
    batches.batchFor('x').items.push(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map((batch) => batch.items)).toEqual([[1], [2], [3]]);
  });
});
