/**
 * @switchboard/auth: argon2id passwords, asymmetric access tokens with key rotation, and (next)
 * rotating refresh-token families with reuse detection. See the README for what is done.
 * @packageDocumentation
 */
export {
  type AccessTokenService,
  type AccessTokenSettings,
  createAccessTokenService,
  type Principal,
} from './access-tokens.ts';
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
