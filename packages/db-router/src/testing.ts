/**
 * @switchboard/db-router/testing: the behaviour every causal-token store must have, as a vitest
 * suite. Run it against your own store to know it is a drop-in replacement.
 * @packageDocumentation
 */
export { type TokenStoreContractOptions, tokenStoreContract } from './testing/token-store-contract.ts';
