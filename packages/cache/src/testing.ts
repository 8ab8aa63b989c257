/**
 * @switchboard/cache/testing: the behaviour every shared tier (L2) must have, as a vitest
 * suite. Run it against your own tier to know the cache stays correct over it.
 * @packageDocumentation
 */
export { type SharedTierContractOptions, sharedTierContract } from './testing/shared-tier-contract.ts';
