import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, REPO_ROOT } from '../src/build-check.ts';
import type { DrillName, DrillResult } from '../src/drills/index.ts';
import { PAUSE_MS } from '../src/drills/options.ts';

/**
 * Each drill, short, through the CLI as a user runs it, each on a topology and servers of its
 * own: checks correctness (nothing acknowledged lost, every subscriber complete, no duplicate,
 * recovery without help, no crash) and the JSON's shape, never speed.
 */
const CLI = fileURLToPath(new URL('../src/drill-cli.ts', import.meta.url));
const execFileAsync = promisify(execFile);
const SHORT = ['--rate', '40', '--read-rate', '10', '--duration', '10', '--fault-at', '3'];
const SMALL = ['--chats', '8', '--members', '4', '--subscribers', '16'];
/** The contract of issue 18: tools read these by name. */
const CONTRACT = [
  'drill',
  'acknowledged',
  'persisted',
  'lost',
  'duplicates',
  'subscribers',
  'subscribersComplete',
  'recoveryMs',
  'errorsDuringFault',
  'availability',
] as const;
/** Exit 3: a target was missed; the timing ones (recovery under 5 s, availability) may be on a busy machine. */
const TIMING_TARGETS = new Set(['availabilityOutsideFault', 'redisFailoverRecovery', 'writesFailFast']);

let dir: string;

beforeAll(async () => {
  // CI builds before testing; a developer may not have: build what is missing or stale.
  ensureBuilt({ build: true });
  dir = await mkdtemp(join(tmpdir(), 'drill-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `npm run drill -- <args>` as a user runs it (without npm's banner); never rejects. */
async function drill(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: REPO_ROOT,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | null; stdout?: string; stderr?: string };
    return { code: failed.code ?? null, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

async function run(name: DrillName): Promise<DrillResult> {
  const json = join(dir, `${name}.json`);
  const result = await drill([name, ...SHORT, ...SMALL, '--json', json]);
  expect([0, 3], `${result.stdout}\n${result.stderr}`).toContain(result.code);
  const report = JSON.parse(await readFile(json, 'utf8')) as DrillResult;
  const missed = Object.entries(report.targets).filter(([, target]) => !target.met);
  expect(
    missed.filter(([name]) => !TIMING_TARGETS.has(name)),
    result.stdout,
  ).toEqual([]);
  expect(result.code).toBe(missed.length === 0 ? 0 : 3);
  expect(result.stdout).toContain(`drill ${name}:`);
  return report;
}

function expectCorrect(result: DrillResult, name: DrillName): void {
  for (const field of CONTRACT) expect(result).toHaveProperty(field);
  expect(result.drill).toBe(name);
  for (const field of CONTRACT.slice(1)) {
    if (field !== 'recoveryMs') expect(typeof result[field], field).toBe('number');
  }
  // Open loop: 40/s for 10 s are due, and every one is acknowledged in the end (retries).
  expect(result.sends.due).toBe(400);
  expect(result.acknowledged).toBe(400);
  expect(result.persisted).toBe(result.acknowledged);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.duplicatesBy).toEqual({ deliveries: 0, sends: 0 });
  expect(result.subscribers).toBe(16);
  expect(result.subscriberDetail).toMatchObject({ sse: 8, ws: 8, unexpectedEnds: 0, missing: 0, outOfOrder: 0 });
  expect(result.subscribersComplete).toBe(result.subscribers);
  expect(result.recoveryMs).toEqual(expect.any(Number));
  expect(result.availability).toBeGreaterThan(0);
  expect(result.availability).toBeLessThanOrEqual(1);
  expect(result.availabilityOutsideFault).toBeLessThanOrEqual(1);
  expect(result.crashed).toEqual([]);
  expect(result.timeline).toHaveLength(10);
}

describe('npm run drill (cluster mode, short)', () => {
  test('redis-master-kill: Sentinel fails over; live delivery resumes and nothing is missed', async () => {
    const result = await run('redis-master-kill');
    expectCorrect(result, 'redis-master-kill');
    expect(result.events.promoted).toBeGreaterThan(result.events.killed as number);
    expect(result.fault.failoverMs).toEqual(expect.any(Number));
  });

  test('replica-kill: no read fails while a replica is killed and restarted', async () => {
    const result = await run('replica-kill');
    expectCorrect(result, 'replica-kill');
    expect(result.reads.total).toBe(100);
    expect(result.reads.failed).toBe(0);
    expect(result.events.restarted).toBeGreaterThan(result.events.killed as number);
  });

  test('instance-kill: its subscribers resume on the other instance with `after`; retried sends are not doubled', async () => {
    const result = await run('instance-kill');
    expectCorrect(result, 'instance-kill');
    // Subscribers 8-15 started on the killed instance (the second), and resumed elsewhere.
    expect(result.subscriberDetail.resumed).toBe(8);
    expect(result.fault.subscribersMoved).toBe(8);
  });

  test('primary-pause: writes fail with DATABASE_UNAVAILABLE instead of hanging, and recover without a restart', async () => {
    const result = await run('primary-pause');
    expectCorrect(result, 'primary-pause');
    const pause = result.fault.writesDuringPause as {
      attempts: number;
      failed: number;
      slowestMs: number;
      clearError: boolean;
    };
    expect(pause.failed).toBeGreaterThan(0);
    expect(pause.clearError).toBe(true);
    // A hang waits until the resume; a fast failure does not (the 2 s bound itself is a timing target).
    expect(pause.slowestMs).toBeLessThan(PAUSE_MS - 1_000);
    // Whatever failed said why; reads went on through the replicas.
    expect(Object.keys(result.errorKinds)).toContain('send: http 503 DATABASE_UNAVAILABLE');
    for (const kind of Object.keys(result.errorKinds)) expect(kind).toMatch(/DATABASE_UNAVAILABLE$/);
  });
});
