/**
 * PostgreSQL WAL positions (`pg_lsn`): text `XXXXXXXX/XXXXXXXX` (two hex halves of a 64-bit
 * byte position). Held as `bigint` so that positions past 2^53 compare exactly.
 */

const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/**
 * Parses Postgres' text form of an LSN (`16/B374D848`) into a 64-bit position.
 * Returns `undefined` for anything else (including SQL `NULL`).
 */
export function parseLsn(text: string | null | undefined): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const match = LSN_PATTERN.exec(text);
  if (!match) return undefined;
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Formats a 64-bit position the way Postgres prints it (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  const high = (lsn >> 32n) & 0xffffffffn;
  const low = lsn & 0xffffffffn;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

/** Bytes from `from` to `to`, never negative (a replica ahead of a stale sample is 0 behind). */
export function lsnDistance(from: bigint, to: bigint): number {
  return to > from ? Number(to - from) : 0;
}
