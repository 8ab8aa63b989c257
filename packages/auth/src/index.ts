/**
 * @switchboard/auth: argon2id passwords, asymmetric access tokens with key rotation, and
 * rotating refresh-token families with reuse detection. See the README for what is done.
 * @packageDocumentation
 */
export {
  type AccessTokenService,
  type AccessTokenSettings,
  createAccessTokenService,
  type JwtClaims,
  type Principal,
} from './access-tokens.ts';
export { type Auth, type AuthOptions, type AuthUser, createAuth, type TokenPair } from './auth.ts';
export type { AuthTelemetryOptions } from './auth-tracing.ts';
export { bearerToken, type RequestLike } from './authenticate.ts';
export {
  AUTH_ERROR_TABLE,
  type AuthErrorMapping,
  type AuthErrorResponse,
  type AuthGraphQLCode,
  authErrorResponse,
} from './error-table.ts';
export { AuthBusyError, AuthError, type AuthErrorCode, isAuthError } from './errors.ts';
// For HTTP framework adapters (ours: ./express, ./fastify, @switchboard/nestjs; or your own).
export {
  type AuthRefusalBody,
  authenticateHttpRequest,
  checkHttpAuthOptions,
  type HttpAuthOptions,
  type HttpAuthOutcome,
  type RequestVerifier,
} from './http-request-auth.ts';
export {
  generateSigningKey,
  type Jwk,
  type KeySet,
  loadKeySet,
  type PrivateSigningJwk,
  type PublicJwk,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from './keys.ts';
export {
  type Argon2Functions,
  createPasswordHasher,
  OWASP_ARGON2ID,
  type PasswordCheck,
  type PasswordHasher,
  type PasswordHasherOptions,
  type PasswordParams,
} from './passwords.ts';
export {
  createMemoryRevocationBus,
  type RevocationOptions,
  type SessionRevokedListener,
} from './revocations.ts';
export { createMemorySessionStore } from './stores/memory.ts';
export { createMemoryDeviceTokenStore } from './stores/memory-devices.ts';
export type { Telemetry } from './telemetry.ts';
export type {
  DeleteExpiredResult,
  DeviceFailureOutcome,
  DeviceTokenStore,
  NewDeviceToken,
  NewSession,
  RevocationBus,
  RotateOutcome,
  SessionInfo,
  SessionMeta,
  SessionRevocation,
  SessionStore,
} from './types.ts';
