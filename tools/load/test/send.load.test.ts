import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, REPO_ROOT } from '../src/build-check.ts';
import type { LoadReport } from '../src/load.ts';
import type { LoadResult } from '../src/results.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
let dir: string;

beforeAll(async () => {
  // CI builds before testing; a developer may not have: build what is missing or stale.
  ensureBuilt({ build: true });
  dir = await mkdtemp(join(tmpdir(), 'load-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `npm run load -- <args>`, as a user runs it (without npm's banner). */
function load(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

function expectContractShape(result: LoadResult, scenario: string): void {
  expect(result).toMatchObject({
    scenario,
    mode: 'embedded',
    offeredRate: 50,
    durationS: 5,
    errors: 0,
    errorRate: 0,
  });
  for (const field of ['achievedRate', 'requests', 'cpuMsPerOp'] as const) expect(typeof result[field]).toBe('number');
  for (const field of ['p50', 'p95', 'p99', 'max'] as const) {
    expect(typeof result.latencyMs[field]).toBe('number');
    expect(result.latencyMs[field]).toBeGreaterThan(0);
  }
  expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.max);
  expect(result.cpuMsPerOp).toBeGreaterThan(0);
  // Open loop: the schedule alone decides how many requests are due (50/s for 5 s).
  expect(result.requests).toBe(250);
  // Every success named its row, and every one of those rows is in PostgreSQL.
  expect(result.acknowledged).toBe(result.requests);
  expect(result.persisted).toBe(result.requests);
}

describe('npm run load -- send (embedded, low rate)', () => {
  test('sends through the built server and the bare baseline; the JSON has every field; every message is stored', async () => {
    const json = join(dir, 'send.json');
    const run = await load([
      'send',
      '--rate',
      '50',
      '--duration',
      '5',
      '--warmup',
      '1',
      '--prime',
      '1',
      '--users',
      '40',
      '--chats',
      '8',
      '--members',
      '5',
      '--json',
      json,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as LoadReport;
    expectContractShape(report, 'send');
    expect(report.baseline).toBeDefined();
    expectContractShape(report.baseline as LoadResult, 'baseline');
    expect(report.seed).toEqual({ users: 40, chats: 8, members: 5, history: 0 });
    expect(report.comparedToBaseline?.cpuPerOp).toBeGreaterThan(0);
    expect(report.timeline).toHaveLength(5);
    expect(run.stdout).toMatch(/\| send +\| embedded \| 50 /);
    expect(run.stdout).toMatch(/\| baseline +\| embedded \| 50 /);
  });

  test('a usage mistake exits 2 and says what is wrong', async () => {
    const run = await load(['send', '--rate', 'fast']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--rate must be a number >= 0.1, got 'fast'");
  });
});
