/**
 * @switchboard/auth: argon2id passwords, asymmetric access tokens with key rotation, and
 * rotating refresh-token families with reuse detection. See the README for what is done.
 * @packageDocumentation
 */
export {
  type AccessTokenService,
  type AccessTokenSettings,
  createAccessTokenService,
  type Principal,
} from './access-tokens.ts';
export { type Auth, type AuthOptions, type AuthUser, createAuth, type TokenPair } from './auth.ts';
export { bearerToken, type RequestLike } from './authenticate.ts';
export { AuthError, type AuthErrorCode, isAuthError } from './errors.ts';
export {
  generateSigningKey,
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
  createMemorySessionStore,
  type NewSession,
  type RotateOutcome,
  type SessionInfo,
  type SessionMeta,
  type SessionStore,
} from './sessions.ts';
