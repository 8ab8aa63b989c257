/**
 * Loopback source addresses for the load's clients: 127.0.1.1, 127.0.1.2, ... Linux answers on
 * all of 127.0.0.0/8, so each simulated client can come from its own address, and per-address
 * limits see many clients as they would in production.
 */
export function loopbackAddresses(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 254 * 254) {
    throw new TypeError(`the address count must be 1 to ${254 * 254}, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `127.0.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`);
}
