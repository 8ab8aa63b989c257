/**
 * @switchboard/rbac/testing: the behaviour every grant store must have, as a vitest suite. Run
 * it against your own `GrantStore` to know it is a drop-in replacement.
 * @packageDocumentation
 */
export { type GrantStoreContractOptions, grantStoreContract } from './testing/grant-store-contract.ts';
