/**
 * The client's address for `@RateLimit({ key: 'ip' })`. Only the proxies the application says it
 * runs are believed: a client can write any `X-Forwarded-For` it likes, and an address taken from
 * it unchecked would give every request a fresh counter.
 */

/** `false`: no proxy; a number: that many proxy hops of yours; `true`: the leftmost forwarded address. */
export type TrustProxy = boolean | number;

export function checkTrustProxy(trustProxy: unknown): void {
  if (trustProxy === undefined || typeof trustProxy === 'boolean') return;
  if (!(Number.isInteger(trustProxy) && (trustProxy as number) >= 0 && (trustProxy as number) <= 32))
    throw new TypeError(
      `SwitchboardModule: \`trustProxy\` must be a boolean or a whole number of proxy hops (0-32), got ${String(trustProxy)}`,
    );
}

/**
 * From the socket's peer and `X-Forwarded-For` (each proxy appends the address it received the
 * request from): with `hops` trusted proxies, the client is the address the outermost trusted
 * one saw, `hops` places from the right of `[...forwarded, peer]`; never further left than the
 * header goes.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxy: TrustProxy | undefined,
): string {
  const socket = peer ?? 'unknown';
  if (trustProxy === undefined || trustProxy === false || trustProxy === 0) return socket;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const chain = [
    ...header
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
    socket,
  ];
  if (trustProxy === true) return chain[0] as string;
  return chain[Math.max(0, chain.length - 1 - trustProxy)] as string;
}
