import { describe, expect, test } from 'vitest';
import { loopbackAddresses } from '../src/addresses.ts';
import { latencyChart } from '../src/chart.ts';
import { findMax, verdictOf } from '../src/measure.ts';
import { parseOptions, UsageError } from '../src/options.ts';
import { type LoadResult, quantile, summarize, table } from '../src/results.ts';
import type { OpenLoopRun, RequestRecord } from '../src/runner.ts';
import { membersOf } from '../src/seed.ts';

const request = (at: number, latencyMs: number, error?: string): RequestRecord => ({
  at,
  latencyMs,
  lateMs: 0.5,
  error,
  ack: undefined,
});

function run(requests: RequestRecord[], overrides: Partial<OpenLoopRun> = {}): OpenLoopRun {
  return {
    rate: 100,
    durationMs: 1000,
    requests,
    cpuMs: { server: 30, postgres: 20 },
    elapsedMs: 1000,
    workers: 1,
    generatorCpuPercent: 10,
    otherCpuPercent: 5,
    ...overrides,
  };
}

function result(rate: number, p95: number, errorRate = 0): LoadResult {
  const summary = summarize(run([request(0, p95)], { rate }), {
    scenario: 'send',
    mode: 'embedded',
    instances: 1,
    cpuMeasured: true,
  });
  return { ...summary, errorRate };
}

describe('quantile', () => {
  test('nearest rank: p50 of 1..100 is 50, p99 is 99, max is 100', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile(sorted, 1)).toBe(100);
    expect(quantile(new Float64Array(), 0.5)).toBe(0);
  });
});

describe('summarize', () => {
  test('counts errors by kind, CPU per request, and the achieved rate until the last answer', () => {
    const requests = Array.from({ length: 100 }, (_, i) =>
      request(i * 10, i < 98 ? 5 : 600, i >= 98 ? 'graphql RATE_LIMITED' : undefined),
    );
    const summary = summarize(run(requests, { elapsedMs: 2000 }), {
      scenario: 'send',
      mode: 'embedded',
      instances: 1,
      cpuMeasured: true,
    });
    expect(summary).toMatchObject({
      offeredRate: 100,
      achievedRate: 49,
      durationS: 1,
      requests: 100,
      errors: 2,
      errorRate: 0.02,
      latencyMs: { p50: 5, p95: 5, p99: 600, max: 600 },
      cpuMsPerOp: 0.5,
      cpuMsPerOpBy: { server: 0.3, postgres: 0.2 },
      errorKinds: { 'graphql RATE_LIMITED': 2 },
    });
    expect(summary.timeline).toEqual([{ second: 0, requests: 100, errors: 2, p50: 5, p99: 600, max: 600 }]);
    expect(table([summary])).toMatch(/\| send +\| embedded \| 100 +\| 49 /);
  });

  test('no CPU figure for a server that is not ours', () => {
    const summary = summarize(run([request(0, 1)]), {
      scenario: 'send',
      mode: 'target',
      instances: 1,
      cpuMeasured: false,
    });
    expect(summary.cpuMsPerOp).toBeNull();
  });
});

describe('findMax', () => {
  test('steps up until a miss is confirmed, and reports the last rate that held', async () => {
    const capacity = 300;
    const tried: number[] = [];
    const found = await findMax(
      async (rate) => {
        tried.push(rate);
        return result(rate, rate > capacity ? 250 : 20);
      },
      { startRate: 100, factor: 1.5, pauseMs: 0 },
    );
    expect(tried).toEqual([100, 150, 225, 338, 338]);
    expect(found.maxRate).toBe(225);
    expect(found.stoppedBecause).toBe('338/s: p95 250 ms > 100 ms');
  });

  test('a miss that does not repeat is a hiccup: the search goes on', async () => {
    let calls = 0;
    const found = await findMax(async (rate) => result(rate, ++calls === 2 ? 500 : 10), {
      startRate: 100,
      factor: 2,
      maxRate: 400,
      pauseMs: 0,
    });
    expect(found.maxRate).toBe(400);
    expect(found.steps.map((step) => step.offeredRate)).toEqual([100, 200, 200, 400]);
  });

  test('errors above 0.1 % fail a step', () => {
    expect(verdictOf(result(100, 10, 0.002), { p95LimitMs: 100, errorRateLimit: 0.001 })).toBe('errors 0.20 % > 0.1 %');
    expect(verdictOf(result(100, 10, 0.001), { p95LimitMs: 100, errorRateLimit: 0.001 })).toBeUndefined();
  });
});

describe('parseOptions', () => {
  test('defaults, and find-max steps of 5 s with the SVG next to the JSON', () => {
    expect(parseOptions(['send'])).toMatchObject({ mode: 'embedded', rate: 100, durationS: 30, users: 1000 });
    expect(parseOptions(['send', '--find-max', '--json', 'out/send.json'])).toMatchObject({
      findMax: true,
      durationS: 5,
      warmupS: 2,
      svg: 'out/send.svg',
    });
    expect(parseOptions(['send', '--server-env', 'A=1', '--server-env', 'B=x=y']).serverEnv).toEqual({
      A: '1',
      B: 'x=y',
    });
  });

  test.each([
    [['send', '--mode', 'cloud'], "--mode must be embedded or cluster, got 'cloud'"],
    [['send', '--users', '1.5'], "--users must be a whole number >= 1, got '1.5'"],
    [['send', '--target', 'ftp://x'], '--target must be an http:// URL'],
    [['send', '--bogus'], "Unknown option '--bogus'"],
    [[], 'name a scenario'],
  ])('%j is refused', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
    expect(() => parseOptions(argv)).toThrow(message);
  });
});

describe('seeding and addresses', () => {
  test('members of a chat are distinct users, and every user is in about as many chats', () => {
    const sizes = { users: 37, members: 5 };
    const counts = new Array(sizes.users).fill(0);
    for (let chat = 0; chat < 50; chat++) {
      const members = membersOf(chat, sizes);
      expect(new Set(members).size).toBe(5);
      for (const member of members) counts[member]++;
    }
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  test('loopback source addresses skip .0 and .255', () => {
    const addresses = loopbackAddresses(300);
    expect(addresses.slice(0, 2)).toEqual(['127.0.1.1', '127.0.1.2']);
    expect(addresses[253]).toBe('127.0.1.254');
    expect(addresses[254]).toBe('127.0.2.1');
    expect(new Set(addresses).size).toBe(300);
  });
});

describe('latencyChart', () => {
  test('draws one line per percentile and series, the limit, and escapes text', () => {
    const svg = latencyChart({
      title: 'send <embedded>',
      series: [
        {
          name: 'send',
          points: [
            { rate: 100, p50: 5, p95: 20, p99: 40 },
            { rate: 200, p50: 8, p95: 90, p99: 300 },
          ],
        },
        { name: 'baseline', points: [{ rate: 100, p50: 2, p95: 4, p99: 6 }] },
      ],
      limitMs: 100,
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(6);
    expect(svg).toContain('send &lt;embedded&gt;');
    expect(svg).toContain('>100 ms</text>');
    expect(svg).toContain('stroke-dasharray="7 4"');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });
});
