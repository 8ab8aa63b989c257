import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `read` returns something other than undefined; throws on timeout. */
export async function waitFor<T>(
  read: () => Promise<T | undefined>,
  { timeoutMs, intervalMs = 10 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
