import { withinDeadline } from '@switchboard/hot-path';

const l2Timeout = (timeoutMs: number) => new Error(`L2 did not answer within ${timeoutMs} ms`);

/** `promise`, or the L2 timeout error if it has not settled within `timeoutMs` (±10 ms). */
export function withinL2Deadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return withinDeadline(promise, timeoutMs, l2Timeout);
}
