import { describe, expect, test } from 'vitest';
import { settle, startDeadline, withinDeadline } from './deadlines.ts';

describe('withinDeadline', () => {
  test('passes an answer that comes in time through, and rejects with the given error when none comes', async () => {
    await expect(withinDeadline(Promise.resolve(7), 50, () => new Error('late'))).resolves.toBe(7);
    await expect(withinDeadline(Promise.reject(new Error('no')), 50, () => new Error('late'))).rejects.toThrow('no');
    const started = performance.now();
    const never = new Promise<never>(() => {});
    await expect(withinDeadline(never, 30, (ms) => new Error(`late after ${ms} ms`))).rejects.toThrow(
      'late after 30 ms',
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
  });

  test('an infinite timeout returns the promise itself', () => {
    const promise = Promise.resolve(1);
    expect(withinDeadline(promise, Number.POSITIVE_INFINITY, () => new Error('x'))).toBe(promise);
  });
});

describe('startDeadline', () => {
  test('a settled deadline never times out, and settle answers true only once', async () => {
    let timedOut = 0;
    const entry = startDeadline(10, () => timedOut++);
    expect(settle(entry)).toBe(true);
    expect(settle(entry)).toBe(false);
    const late = startDeadline(10, () => timedOut++);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(timedOut).toBe(1);
    expect(settle(late)).toBe(false);
  });
});
