/**
 * @switchboard/validation: valibot input schemas, HTML sanitization and clear input errors for chat backends.
 *
 * Nothing is exported yet: the implementation lands with issue #8.
 * @packageDocumentation
 */
export {};
