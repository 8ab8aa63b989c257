import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { installTestTracing } from '@switchboard/infra/tracing';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type AuthOptions, createAuth, generateSigningKey, isAuthError } from '../src/index.ts';

// The real SDK, registered globally as an application's NodeSDK would.
const tracing = installTestTracing();
const { exporter } = tracing;
beforeAll(() => {});
afterAll(() => {
  tracing.uninstall();
});
beforeEach(() => exporter.reset());

const fastArgon2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const quiet = { warn: () => undefined };
const base = async (extra: Partial<AuthOptions> = {}) =>
  createAuth({
    issuer: 'https://auth.test',
    audience: 'api',
    keys: [await generateSigningKey()],
    password: fastArgon2,
    logger: quiet,
    ...extra,
  });

const tracer = api.trace.getTracer('test');
const spanNames = () => exporter.getFinishedSpans().map((span) => span.name);
const spanNamed = (name: string): ReadableSpan => {
  const span = exporter.getFinishedSpans().find((candidate) => candidate.name === name);
  if (!span) throw new Error(`no span ${name}: ${spanNames()}`);
  return span;
};
/** Runs `fn` inside a request span, as a server would; returns that span. */
async function inRequest(fn: () => Promise<unknown>) {
  const request = tracer.startSpan('POST /graphql', { kind: api.SpanKind.SERVER });
  await api.context.with(api.trace.setSpan(api.context.active(), request), fn).catch(() => undefined);
  request.end();
  return request;
}

describe('createAuth telemetry: login, refresh, logout', () => {
  test('a login is a password span and a session span, children of the request; nothing secret is recorded', async () => {
    const auth = await base({ telemetry: true });
    const stored = await auth.hashPassword('correct horse');
    let pair: { accessToken: string; refreshToken: string } | undefined;
    const request = await inRequest(async () => {
      const check = await auth.verifyPassword(stored, 'correct horse');
      expect(check.ok).toBe(true);
      pair = await auth.issueTokens({ id: 'user-1' }, { userAgent: 'test' });
    });
    const verify = spanNamed('switchboard.auth.verify_password');
    const issue = spanNamed('switchboard.auth.issue_tokens');
    for (const span of [verify, issue]) {
      expect(span.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(request.spanContext().traceId);
    }
    expect(verify.attributes).toEqual({
      'switchboard.auth.password.ok': true,
      'switchboard.auth.password.needs_rehash': false,
    });
    const principal = await auth.verifyAccessToken(pair?.accessToken as string);
    expect(issue.attributes).toEqual({ 'switchboard.auth.session.id': principal.sessionId });
    expect(spanNamed('switchboard.auth.hash_password').parentSpanContext).toBeUndefined();
    const recorded = JSON.stringify(exporter.getFinishedSpans().map((span) => [span.attributes, span.events]));
    for (const secret of ['correct horse', stored, pair?.accessToken, pair?.refreshToken]) {
      expect(recorded).not.toContain(secret);
    }
    await auth.close();
  });

  test('a wrong password is an ok: false attribute, not an error; a refused password (BUSY) ends the span in error', async () => {
    const auth = await base({ telemetry: true, passwordConcurrency: 1, passwordQueueSize: 0 });
    await auth.verifyPassword(null, 'guess');
    expect(spanNamed('switchboard.auth.verify_password').attributes['switchboard.auth.password.ok']).toBe(false);
    expect(spanNamed('switchboard.auth.verify_password').status.code).toBe(api.SpanStatusCode.UNSET);
    exporter.reset();
    const results = await Promise.allSettled([auth.verifyPassword(null, 'a'), auth.verifyPassword(null, 'b')]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = exporter.getFinishedSpans().filter((span) => span.status.code === api.SpanStatusCode.ERROR);
    expect(failed.map((span) => span.name)).toEqual(['switchboard.auth.verify_password']);
    await auth.close();
  });

  test('refresh: rotated, shared within the leeway, then reuse detected (the span in error, with the session id)', async () => {
    const auth = await base({ telemetry: true, reuseLeewayMs: 10_000 });
    const first = await auth.issueTokens({ id: 'user-2' });
    const { sessionId } = await auth.verifyAccessToken(first.accessToken);
    const second = await auth.refresh(first.refreshToken);
    await auth.refresh(first.refreshToken); // a second tab, within the leeway
    await auth.refresh(second.refreshToken);
    const reuse = await auth.refresh(first.refreshToken).catch((error: unknown) => error);
    expect(isAuthError(reuse) && reuse.code).toBe('REFRESH_TOKEN_REUSED');
    const refreshes = exporter.getFinishedSpans().filter((span) => span.name === 'switchboard.auth.refresh');
    expect(refreshes.map((span) => span.attributes)).toEqual([
      { 'switchboard.auth.refresh.outcome': 'rotated', 'switchboard.auth.session.id': sessionId },
      { 'switchboard.auth.refresh.outcome': 'shared', 'switchboard.auth.session.id': sessionId },
      { 'switchboard.auth.refresh.outcome': 'rotated', 'switchboard.auth.session.id': sessionId },
      { 'switchboard.auth.refresh.outcome': 'reused', 'switchboard.auth.session.id': sessionId },
    ]);
    const detected = refreshes[3] as ReadableSpan;
    expect(detected.status).toEqual({
      code: api.SpanStatusCode.ERROR,
      message: 'refresh token was already used: the session has been revoked',
    });
    expect(detected.events.map((event) => event.name)).toEqual(['exception']);
    exporter.reset();
    await expect(auth.refresh('rt_unknown')).rejects.toThrow();
    expect(spanNamed('switchboard.auth.refresh').attributes).toEqual({ 'switchboard.auth.refresh.outcome': 'invalid' });
    await auth.close();
  });

  test('logout and revocations are spans saying what they ended', async () => {
    const auth = await base({ telemetry: true });
    const one = await auth.issueTokens({ id: 'user-3' });
    const two = await auth.issueTokens({ id: 'user-3' });
    const three = await auth.issueTokens({ id: 'user-3' });
    const { sessionId: twoId } = await auth.verifyAccessToken(two.accessToken);
    exporter.reset();
    await auth.logout(one.refreshToken);
    await auth.logout(one.refreshToken);
    expect(await auth.revokeSession('user-3', twoId)).toBe(true);
    await auth.issueDeviceToken('user-3');
    expect(await auth.revokeAllSessions('user-3')).toBe(1);
    expect(spanNames()).toEqual([
      'switchboard.auth.logout',
      'switchboard.auth.logout',
      'switchboard.auth.revoke_session',
      'switchboard.auth.issue_device_token',
      'switchboard.auth.revoke_all_sessions',
    ]);
    const attributes = exporter.getFinishedSpans().map((span) => span.attributes);
    expect(attributes).toEqual([
      { 'switchboard.auth.revoked': true },
      { 'switchboard.auth.revoked': false },
      { 'switchboard.auth.revoked': true },
      {},
      { 'switchboard.auth.sessions.revoked': 1 },
    ]);
    await expect(auth.verifyAccessToken(three.accessToken)).rejects.toThrow();
    await auth.close();
  });
});

describe('createAuth telemetry: access-token verification', () => {
  test('no span by default, even with telemetry on: it runs on every request', async () => {
    const auth = await base({ telemetry: true });
    const { accessToken } = await auth.issueTokens({ id: 'user-4' });
    exporter.reset();
    await auth.verifyAccessToken(accessToken);
    await auth.authenticate({ authorization: `Bearer ${accessToken}` });
    expect(spanNames()).toEqual([]);
    await auth.close();
  });

  test('traceVerify: true makes a span for each check, with the session id; a refused token ends it in error', async () => {
    const auth = await base({ telemetry: true, traceVerify: true });
    const { accessToken } = await auth.issueTokens({ id: 'user-5' });
    exporter.reset();
    const principal = await auth.verifyAccessToken(accessToken);
    await auth.authenticate({ authorization: `Bearer ${accessToken}` });
    await expect(auth.verifyAccessToken('not.a.token')).rejects.toThrow();
    expect(spanNames()).toEqual(Array(3).fill('switchboard.auth.verify_access_token'));
    const [ok, viaRequest, refused] = exporter.getFinishedSpans();
    expect(ok?.attributes).toEqual({ 'switchboard.auth.session.id': principal.sessionId });
    expect(viaRequest?.attributes).toEqual({ 'switchboard.auth.session.id': principal.sessionId });
    expect(refused?.status.code).toBe(api.SpanStatusCode.ERROR);
    await auth.close();
  });
});

describe('createAuth telemetry off (the default)', () => {
  test('no span from any operation, the same results', async () => {
    const auth = await base({ traceVerify: true });
    const stored = await auth.hashPassword('pw');
    expect((await auth.verifyPassword(stored, 'pw')).ok).toBe(true);
    const pair = await auth.issueTokens({ id: 'user-6' });
    await auth.verifyAccessToken(pair.accessToken);
    const next = await auth.refresh(pair.refreshToken);
    await auth.logout(next.refreshToken);
    expect(spanNames()).toEqual([]);
    await auth.close();
  });

  test('a bad telemetry or traceVerify value is a TypeError naming createAuth', async () => {
    await expect(base({ telemetry: { trace: {}, context: {} } })).rejects.toThrow(/^createAuth: `telemetry`/);
    await expect(base({ telemetry: 1 as unknown as boolean })).rejects.toThrow(TypeError);
    await expect(base({ telemetry: true, traceVerify: 'yes' as unknown as boolean })).rejects.toThrow(
      /^createAuth: `traceVerify` must be a boolean/,
    );
  });
});
