/**
 * @switchboard/ratelimit: atomic Redis and memory rate limiting: several algorithms, multi-key all-or-nothing checks.
 *
 * Nothing is exported yet: the implementation lands with issue #4.
 * @packageDocumentation
 */
export {};
