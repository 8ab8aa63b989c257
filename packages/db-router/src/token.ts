import { InvalidCausalTokenError } from './errors.ts';

/**
 * Causal tokens: `v1.` followed by the primary's WAL position in lowercase hex (e.g.
 * `v1.16b374d848`). Safe as-is in an HTTP header, a cookie value or a URL.
 */
const PREFIX = 'v1.';
const TOKEN_PATTERN = /^v1\.([0-9a-f]{1,16})$/i;
/** Longest valid token; longer input is rejected before any regex work. */
const MAX_LENGTH = PREFIX.length + 16;

/** Makes a token from a WAL position. */
export function encodeCausalToken(lsn: bigint): string {
  return `${PREFIX}${lsn.toString(16)}`;
}

/** The WAL position a token holds, or `undefined` when the value is not a valid token. */
export function decodeCausalToken(token: unknown): bigint | undefined {
  if (typeof token !== 'string' || token.length > MAX_LENGTH) return undefined;
  const match = TOKEN_PATTERN.exec(token);
  return match ? BigInt(`0x${match[1]}`) : undefined;
}

/**
 * Validates a token from outside (a header, a cookie) and returns its WAL position.
 *
 * @throws {InvalidCausalTokenError} when it is not a token this package made.
 * @example
 * const lsn = parseCausalToken(request.headers.get('x-causal-token'));
 */
export function parseCausalToken(token: unknown): bigint {
  const lsn = decodeCausalToken(token);
  if (lsn === undefined) throw new InvalidCausalTokenError(token);
  return lsn;
}

/** True when `token` is a well-formed causal token. */
export function isCausalToken(token: unknown): token is string {
  return decodeCausalToken(token) !== undefined;
}

/**
 * The newer of two tokens (the one a read must wait for). Invalid or missing values are ignored;
 * `undefined` when neither is valid.
 *
 * @example
 * const token = newerCausalToken(fromCookie, await sessions.tokenFor(userId));
 */
export function newerCausalToken(a: string | null | undefined, b: string | null | undefined): string | undefined {
  const lsnA = decodeCausalToken(a);
  const lsnB = decodeCausalToken(b);
  if (lsnA === undefined) return lsnB === undefined ? undefined : (b as string);
  if (lsnB === undefined) return a as string;
  return lsnB > lsnA ? (b as string) : (a as string);
}

/**
 * Orders two valid tokens: negative when `a` is older, 0 when equal, positive when newer.
 *
 * @throws {InvalidCausalTokenError} when either is not a valid token.
 */
export function compareCausalTokens(a: string, b: string): number {
  const lsnA = parseCausalToken(a);
  const lsnB = parseCausalToken(b);
  return lsnA < lsnB ? -1 : lsnA > lsnB ? 1 : 0;
}
