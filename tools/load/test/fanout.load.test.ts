import { beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt } from '../src/build-check.ts';
import { runLoad } from '../src/load.ts';
import { parseOptions } from '../src/options.ts';
import { table } from '../src/results.ts';

beforeAll(() => {
  // CI builds before testing; a developer may not have: build what is missing or stale.
  ensureBuilt({ build: true });
});

/** `npm run load -- <args>` in this process: the report is what `--json` writes. */
async function load(args: string[]) {
  const lines: string[] = [];
  const outcome = await runLoad(parseOptions(args), { log: (line) => lines.push(line) });
  return { ...outcome, log: lines.join('\n') };
}

const SHORT = ['--duration', '4', '--warmup', '1', '--prime', '1'];

describe('npm run load -- fanout (embedded, 200 subscribers, low rate)', () => {
  test('every acknowledged message reaches every other member of its chat once; the JSON has every field', async () => {
    const { report, rows } = await load([
      'fanout',
      '--subscribers',
      '200',
      '--members',
      '10',
      '--rate',
      '20',
      ...SHORT,
    ]);
    expect(report).toMatchObject({
      scenario: 'fanout',
      mode: 'embedded',
      offeredRate: 20,
      durationS: 4,
      requests: 80,
      errors: 0,
      subscribers: 200,
      lost: 0,
      duplicates: 0,
      misrouted: 0,
      subscriptionsEnded: 0,
      subscriberSetup: { transports: { sse: 100, ws: 100 } },
      seed: { users: 200, chats: 20, members: 10, history: 0 },
    });
    // Every user listens to its one chat: each message is expected at the 9 other members.
    expect(report.acknowledged).toBe(80);
    expect(report.persisted).toBe(80);
    expect(report.expectedDeliveries).toBe(80 * 9);
    expect(report.delivered).toBe(report.expectedDeliveries);
    for (const field of ['p50', 'p95', 'p99'] as const) {
      expect(typeof report.deliveryLatencyMs?.[field]).toBe('number');
      expect(typeof report.latencyMs[field]).toBe('number');
    }
    expect(report.deliveryLatencyMs?.p50).toBeLessThanOrEqual(report.deliveryLatencyMs?.p99 as number);
    expect(typeof report.memoryPerSubscriberKiB).toBe('number');
    expect(typeof report.cpuMsPerOp).toBe('number');
    expect(table(rows)).toMatch(/\| fanout +\| 20 +\| 200 +\| 720 +\| 720 +\| 0 +\| 0 +\|/);
  });
});

describe('npm run load -- mixed (embedded, short)', () => {
  test('every operation of the user model runs without errors; deliveries are counted too', async () => {
    const { report } = await load([
      'mixed',
      '--users',
      '60',
      '--chats',
      '30',
      '--members',
      '10',
      '--rate',
      '40',
      ...SHORT,
    ]);
    expect(report).toMatchObject({
      scenario: 'mixed',
      requests: 160,
      errors: 0,
      subscribers: 60,
      lost: 0,
      duplicates: 0,
    });
    const operations = report.operations ?? {};
    expect(Object.keys(operations).sort()).toEqual(
      ['chats', 'history', 'markRead', 'older', 'refresh', 'send', 'typing'].sort(),
    );
    for (const result of Object.values(operations)) {
      expect(result.count).toBeGreaterThan(0);
      expect(result.errors).toBe(0);
      expect(result.p50).toBeLessThanOrEqual(result.p99);
    }
    expect(Object.values(operations).reduce((sum, result) => sum + result.count, 0)).toBe(160);
    expect(report.persisted).toBe(operations.send?.count);
  });
});
