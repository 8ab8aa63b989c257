/**
 * @switchboard/auth/testing: the behaviour every store must have, as vitest suites. Run them
 * against your own `SessionStore` or `DeviceTokenStore` to know it is a drop-in replacement:
 * each suite drives `createAuth` over the store through the attacks the built-in stores are held
 * to (refresh-token reuse, the two-tabs window, revocation on every instance, device-token
 * limits, ...).
 *
 * @example
 * import { sessionStoreContract } from '@switchboard/auth/testing';
 * sessionStoreContract({ name: 'my store', store: () => createMyStore() });
 * @packageDocumentation
 */
import type { DeviceTokenStore, SessionStore } from './index.ts';
import { describeDeviceTokens } from './testing/device-behaviour.ts';
import { describeRevocation } from './testing/revocation-behaviour.ts';
import { describeAuthBehaviour } from './testing/session-behaviour.ts';

/** Options of {@link sessionStoreContract}. */
export interface SessionStoreContractOptions {
  /** Shown in the suite names. */
  name: string;
  /** A fresh, empty store for each test. */
  store: () => SessionStore | Promise<SessionStore>;
}

/** Tokens, rotation, reuse, the refresh window, sessions, cleanup and revocation over `store`. */
export function sessionStoreContract(options: SessionStoreContractOptions): void {
  describeAuthBehaviour(options.name, options.store);
  describeRevocation(options.name, options.store);
}

/** Options of {@link deviceTokenStoreContract}. */
export interface DeviceTokenStoreContractOptions {
  /** Shown in the suite name. */
  name: string;
  /** A fresh, empty store for each test. */
  store: () => DeviceTokenStore | Promise<DeviceTokenStore>;
}

/** Device tokens over `store`: ownership, forgery, eviction, failure limits, expiry, hashing. */
export function deviceTokenStoreContract(options: DeviceTokenStoreContractOptions): void {
  describeDeviceTokens(options.name, options.store);
}
