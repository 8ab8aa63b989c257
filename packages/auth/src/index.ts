/**
 * @switchboard/auth: argon2id passwords, JWT access tokens (jose) and rotating refresh tokens with reuse detection.
 *
 * Nothing is exported yet: the implementation lands with issue #6.
 * @packageDocumentation
 */
export {};
