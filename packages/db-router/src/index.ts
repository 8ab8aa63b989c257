/**
 * @switchboard/db-router: postgres primary/replica routing with health checks, lag awareness and read-your-writes.
 *
 * Nothing is exported yet: the implementation lands with issue #10.
 * @packageDocumentation
 */
export {};
