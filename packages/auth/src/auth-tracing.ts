import type { Principal } from './access-tokens.ts';
import type { Auth } from './auth.ts';
import { type AuthTracing, authTracing, type Telemetry } from './telemetry.ts';
import type { RotateOutcome } from './types.ts';

/** The tracing options of `createAuth`. */
export interface AuthTelemetryOptions {
  /**
   * OpenTelemetry: every operation that does I/O or slow work runs in a span
   * `switchboard.auth.<operation>` (`verify_password`, `issue_tokens`, `refresh`, `logout`,
   * `revoke_session`, ...) holding the store's own spans; see the README for each span's
   * attributes (never a token, password or hash). `true` for the global `@opentelemetry/api` (an
   * optional peer dependency), or the API object.
   * @default false (no tracing code runs)
   */
  telemetry?: Telemetry;
  /**
   * With `telemetry`, also a span for each access-token check (`verifyAccessToken`,
   * `authenticate`): `switchboard.auth.verify_access_token`. Off by default because it runs on
   * every request, answered from memory (no I/O): when off, verification runs no tracing code.
   * @default false
   */
  traceVerify?: boolean;
}

/** The tracing `createAuth` was asked for, or `undefined`; a bad value is a `TypeError`. */
export function authTelemetry(options: AuthTelemetryOptions) {
  const { traceVerify } = options;
  if (traceVerify !== undefined && typeof traceVerify !== 'boolean')
    throw new TypeError(`createAuth: \`traceVerify\` must be a boolean, got ${typeof traceVerify}`);
  const tracing = authTracing('createAuth', options.telemetry);
  return tracing && { tracing, traceVerify: traceVerify === true };
}

/** `auth` with its operations in spans (see `AuthOptions.telemetry`); verification only if asked. */
export function traced(auth: Auth, { tracing, traceVerify }: { tracing: AuthTracing; traceVerify: boolean }): Auth {
  const sessionOf = (principal: Principal) => ({ 'switchboard.auth.session.id': principal.sessionId });
  const revoked = (done: boolean) => ({ 'switchboard.auth.revoked': done });
  return {
    ...auth,
    hashPassword: tracing.wrap('hash_password', auth.hashPassword),
    verifyPassword: tracing.wrap('verify_password', auth.verifyPassword, (check) => ({
      'switchboard.auth.password.ok': check.ok,
      'switchboard.auth.password.needs_rehash': check.needsRehash,
    })),
    issueTokens: tracing.wrap('issue_tokens', auth.issueTokens),
    refresh: tracing.wrap('refresh', auth.refresh),
    logout: tracing.wrap('logout', auth.logout),
    revokeAllSessions: tracing.wrap('revoke_all_sessions', auth.revokeAllSessions, (count) => ({
      'switchboard.auth.sessions.revoked': count,
    })),
    revokeSession: tracing.wrap('revoke_session', auth.revokeSession, revoked),
    listSessions: tracing.wrap('list_sessions', auth.listSessions),
    cleanup: tracing.wrap('cleanup', auth.cleanup, (deleted) => ({
      'switchboard.auth.cleanup.tokens': deleted.tokens,
      'switchboard.auth.cleanup.sessions': deleted.sessions,
    })),
    issueDeviceToken: tracing.wrap('issue_device_token', auth.issueDeviceToken),
    verifyDeviceToken: tracing.wrap('verify_device_token', auth.verifyDeviceToken, (ok) => ({
      'switchboard.auth.device_token.ok': ok,
    })),
    recordDeviceFailure: tracing.wrap('record_device_failure', auth.recordDeviceFailure, (outcome) => ({
      'switchboard.auth.device_token.outcome': outcome,
    })),
    revokeDeviceTokens: tracing.wrap('revoke_device_tokens', auth.revokeDeviceTokens, (count) => ({
      'switchboard.auth.device_tokens.revoked': count,
    })),
    ...(traceVerify
      ? {
          verifyAccessToken: tracing.wrap('verify_access_token', auth.verifyAccessToken, sessionOf),
          authenticate: tracing.wrap('verify_access_token', auth.authenticate, sessionOf),
        }
      : {}),
  };
}

/** What a rotation found, for the refresh span: `shared` is a repeat within the leeway. */
export function refreshAttributes(result: RotateOutcome) {
  const outcome = result.outcome === 'rotated' && result.sealedSuccessor !== undefined ? 'shared' : result.outcome;
  const sessionId =
    result.outcome === 'rotated' ? result.session.id : result.outcome === 'reused' ? result.sessionId : undefined;
  return {
    'switchboard.auth.refresh.outcome': outcome,
    ...(sessionId === undefined ? {} : { 'switchboard.auth.session.id': sessionId }),
  };
}
