/**
 * @switchboard/ratelimit/testing: the behaviour every rate-limit store must have, as a vitest
 * suite. Run it against your own store to know it is a drop-in replacement.
 * @packageDocumentation
 */
export { type StoreContractOptions, storeContract } from './testing/store-contract.ts';
