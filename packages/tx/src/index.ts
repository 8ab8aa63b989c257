/**
 * @switchboard/tx: postgres transactions with retry and savepoints, a transactional outbox, and sagas.
 *
 * Nothing is exported yet: the implementation lands with issue #11.
 * @packageDocumentation
 */
export {};
