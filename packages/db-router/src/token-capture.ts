import { TurnBatches } from '@switchboard/hot-path';
import type { Cluster } from './cluster.ts';
import { RouterClosedError } from './errors.ts';
import { parseLsn } from './lsn.ts';
import { runOn } from './nodes.ts';
import { encodeCausalToken } from './token.ts';

const CURRENT_LSN = 'SELECT pg_current_wal_lsn()::text AS lsn';

/** The callers of one turn waiting for one token. */
interface Capture {
  readonly token: Promise<string>;
  settle(token: Promise<string>): void;
}

/**
 * `router.captureToken()`: the primary's current WAL position as a causal token.
 *
 * Callers of one event-loop turn share one look-up, sent once the turn ends: every one of them
 * called after its commit returned, so the position it reads covers all their commits. A caller
 * after the look-up was sent starts the next one (it cannot share a reading taken before it).
 */
export class TokenCapture {
  private readonly turns: TurnBatches<null, Capture>;

  constructor(private readonly cluster: Cluster) {
    this.turns = new TurnBatches<null, Capture>({
      create: newCapture,
      send: (capture) => capture.settle(this.captureNow()),
    });
  }

  capture(): Promise<string> {
    if (this.cluster.closed) return Promise.reject(new RouterClosedError());
    return this.turns.batchFor(null).token;
  }

  private async captureNow(): Promise<string> {
    if (this.cluster.closed) throw new RouterClosedError();
    const result = await runOn<{ lsn: string | null }>(this.cluster.primary, CURRENT_LSN, undefined);
    const lsn = parseLsn(result.rows[0]?.lsn);
    if (lsn === undefined) throw new Error(`pg_current_wal_lsn() returned ${String(result.rows[0]?.lsn)}`);
    return encodeCausalToken(lsn);
  }
}

function newCapture(): Capture {
  let settle: (token: Promise<string>) => void = () => {};
  const token = new Promise<string>((resolve) => {
    settle = resolve;
  });
  return { token, settle };
}
