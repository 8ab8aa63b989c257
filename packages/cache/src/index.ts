/**
 * @switchboard/cache: two-tier cache (memory + Redis) with stampede protection, tags and cross-instance invalidation.
 *
 * Nothing is exported yet: the implementation lands with issue #5.
 * @packageDocumentation
 */
export {};
