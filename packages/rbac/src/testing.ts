/**
 * @switchboard/rbac/testing: the behaviour every grant store and policy store must have, as
 * vitest suites. Run them against your own stores to know they are drop-in replacements.
 * @packageDocumentation
 */
export { type GrantStoreContractOptions, grantStoreContract } from './testing/grant-store-contract.ts';
export { type PolicyStoreContractOptions, policyStoreContract } from './testing/policy-store-contract.ts';
