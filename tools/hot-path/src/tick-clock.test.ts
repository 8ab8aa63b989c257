import { afterEach, describe, expect, test, vi } from 'vitest';
import { TickClock } from './tick-clock.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('TickClock', () => {
  test('counts periods only while started', () => {
    vi.useFakeTimers();
    const clock = new TickClock(100);
    vi.advanceTimersByTime(500);
    expect(clock.tick).toBe(0);
    expect(clock.start()).toBe(0);
    vi.advanceTimersByTime(350);
    expect(clock.tick).toBe(3);
    clock.stop();
    vi.advanceTimersByTime(1000);
    expect(clock.tick).toBe(3);
    expect(clock.start()).toBe(3);
    clock.stop();
  });
});
