import type { SharedRead } from './types.ts';

/** Reads the tier sends together: one promise for all, each read's answer picked by index. */
export interface PendingReads {
  /** Resolves once L2 answered; rejects if it failed or missed the deadline. */
  readonly done: Promise<void>;
  /** How many reads it holds: right after `READ_WITHIN`, the caller's read is the last. */
  readonly size: number;
  /** The answer to read `index`, once `done` has resolved. */
  result(index: number): SharedRead;
}

/**
 * An optional capability of a shared tier, not part of the public interface: `read` with the
 * caller's deadline applied by the tier itself, so that reads the tier batches together share
 * one deadline and one promise instead of one each. `Symbol.for`, since the cache and the
 * Redis tier are separate bundles.
 */
export const READ_WITHIN: unique symbol = Symbol.for('@switchboard/cache:read-within') as never;

export interface ReadsWithin {
  /** Adds a read to a batch; its answer is the batch's `result(size - 1)` once `done` resolved. */
  [READ_WITHIN](key: string, tags: readonly string[], timeoutMs: number): PendingReads;
}
