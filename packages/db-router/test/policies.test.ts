import { describe, expect, test } from 'vitest';
import { pickNode, pickReplayed } from '../src/policies.ts';

const nodes = (...inFlight: number[]) => inFlight.map((load, index) => ({ name: `r${index}`, inFlight: load }));
const all = () => true;

describe('round-robin', () => {
  test('cycles through the nodes in turn', () => {
    const list = nodes(0, 0, 0);
    const picked = Array.from({ length: 6 }, (_, cursor) => pickNode('round-robin', list, cursor, all)?.name);
    expect(picked).toEqual(['r0', 'r1', 'r2', 'r0', 'r1', 'r2']);
  });

  test('skips nodes out of rotation and gives up when none is left', () => {
    const list = nodes(0, 0, 0);
    const picked = Array.from({ length: 4 }, (_, cursor) =>
      pickNode('round-robin', list, cursor, (node) => node.name !== 'r1'),
    );
    expect(picked.map((node) => node?.name)).toEqual(['r0', 'r2', 'r2', 'r0']);
    expect(pickNode('round-robin', list, 0, () => false)).toBeUndefined();
    expect(pickNode('round-robin', [], 0, all)).toBeUndefined();
  });
});

describe('least-in-flight', () => {
  test('picks the node with the fewest queries running', () => {
    const list = nodes(5, 1, 3);
    for (let cursor = 0; cursor < 3; cursor++) expect(pickNode('least-in-flight', list, cursor, all)?.name).toBe('r1');
  });

  test('spreads ties by rotating the starting node', () => {
    const list = nodes(2, 2, 9);
    const picked = new Set(
      Array.from({ length: 4 }, (_, cursor) => pickNode('least-in-flight', list, cursor, all)?.name),
    );
    expect(picked).toEqual(new Set(['r0', 'r1']));
  });

  test('never picks an ineligible node, even an idle one', () => {
    const list = nodes(0, 7, 4);
    expect(pickNode('least-in-flight', list, 0, (node) => node.name !== 'r0')?.name).toBe('r2');
    expect(pickNode('least-in-flight', list, 0, () => false)).toBeUndefined();
  });
});

describe('read-your-writes: pickReplayed', () => {
  const replicas = (...positions: (bigint | undefined)[]) =>
    positions.map((lsn, index) => ({ name: `r${index}`, inFlight: 0, state: 'healthy', lsn }));

  test('a replica whose replay position is behind the token is never picked', () => {
    const list = replicas(100n, 250n, 180n);
    for (const policy of ['round-robin', 'least-in-flight'] as const) {
      for (let cursor = 0; cursor < 6; cursor++) {
        expect(pickReplayed(policy, list, cursor, 200n)?.name).toBe('r1');
      }
    }
  });

  test('exactly at the token is enough; an unknown position is not', () => {
    expect(pickReplayed('round-robin', replicas(undefined, 200n), 0, 200n)?.name).toBe('r1');
    expect(pickReplayed('round-robin', replicas(undefined), 0, 1n)).toBeUndefined();
  });

  test('no replica has replayed the token (or only one out of rotation has): none is picked', () => {
    expect(pickReplayed('round-robin', replicas(100n, 199n), 0, 200n)).toBeUndefined();
    const [ahead] = replicas(500n);
    const lagging = { ...(ahead as NonNullable<typeof ahead>), state: 'lagging' };
    expect(pickReplayed('least-in-flight', [lagging], 0, 200n)).toBeUndefined();
  });
});
