import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createTestDatabase } from '@switchboard/infra';
import { installTestTracing } from '@switchboard/infra/tracing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest';
import { createAuth, generateSigningKey, isAuthError } from '../src/index.ts';
import { createPostgresDeviceTokenStore, createPostgresSessionStore, migrations } from '../src/postgres.ts';

// The real SDK, registered globally as an application's NodeSDK would.
const tracing = installTestTracing();
const { exporter } = tracing;
let pool: pg.Pool;
beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'auth_telemetry');
  pool = new pg.Pool({ connectionString: db.primary, max: 4 });
  for (const migration of migrations) await pool.query(migration.sql);
});
beforeEach(() => exporter.reset());
afterAll(async () => {
  await pool?.end();
  tracing.uninstall();
});

const options = { issuer: 'https://auth.test', audience: 'api', logger: { warn: () => undefined } };
const children = (parent: { spanContext(): api.SpanContext } | undefined) =>
  exporter
    .getFinishedSpans()
    .filter((span) => span.parentSpanContext?.spanId === parent?.spanContext().spanId)
    .map((span) => span.name);
const spanNamed = (name: string): ReadableSpan => {
  const span = exporter.getFinishedSpans().find((candidate) => candidate.name === name);
  if (!span) throw new Error(`no span ${name}: ${exporter.getFinishedSpans().map((s) => s.name)}`);
  return span;
};

describe('Postgres stores telemetry', () => {
  test('each statement is a CLIENT span under the auth operation that ran it, per the database conventions', async () => {
    const auth = await createAuth({
      ...options,
      keys: [await generateSigningKey()],
      stores: {
        sessions: createPostgresSessionStore({ pool, telemetry: true }),
        devices: createPostgresDeviceTokenStore({ pool, telemetry: true }),
      },
      telemetry: true,
      reuseLeewayMs: 0,
    });
    const pair = await auth.issueTokens({ id: 'ada' });
    const next = await auth.refresh(pair.refreshToken);
    const reused = await auth.refresh(pair.refreshToken, {}).catch((error: unknown) => error);
    const device = await auth.issueDeviceToken('ada');
    expect(await auth.verifyDeviceToken(device, 'ada')).toBe(true);
    await auth.logout(next.refreshToken);

    expect(children(spanNamed('switchboard.auth.issue_tokens'))).toEqual(['create session']);
    const refreshes = exporter.getFinishedSpans().filter((span) => span.name === 'switchboard.auth.refresh');
    expect(children(refreshes[0])).toEqual(['rotate refresh token']);
    // Reuse: the rotation finds nothing, the classification finds a consumed token, the family goes.
    expect(isAuthError(reused) && reused.code).toBe('REFRESH_TOKEN_REUSED');
    expect(children(refreshes[1]).slice(0, 3)).toEqual([
      'rotate refresh token',
      'classify refresh token',
      'revoke session family',
    ]);
    expect(children(spanNamed('switchboard.auth.issue_device_token'))).toEqual([
      'add device token',
      'trim device tokens',
    ]);
    expect(children(spanNamed('switchboard.auth.verify_device_token'))).toEqual(['verify device token']);
    expect(children(spanNamed('switchboard.auth.logout'))[0]).toBe('find session of refresh token');

    const rotate = spanNamed('rotate refresh token');
    expect(rotate.kind).toBe(api.SpanKind.CLIENT);
    expect(rotate.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.query.summary': 'rotate refresh token',
      'db.query.text': expect.stringContaining('UPDATE switchboard_auth_refresh_tokens t'),
    });
    expect(spanNamed('verify device token').attributes).toMatchObject({
      'db.operation.name': 'SELECT',
      'db.collection.name': 'switchboard_auth_device_tokens',
    });
    // Token hashes and ids are statement values: never in a span.
    const recorded = JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes));
    for (const secret of [pair.refreshToken, next.refreshToken, device, 'ada']) expect(recorded).not.toContain(secret);
    await auth.close();
  });

  test('a failing statement ends its span in error with the SQLSTATE; the caller still gets STORE_UNAVAILABLE', async () => {
    const client = await pool.connect();
    try {
      await client.query('CREATE SCHEMA IF NOT EXISTS no_tables; SET search_path TO no_tables');
      const store = createPostgresSessionStore({ pool: client, telemetry: true });
      const error = await store.revokeByToken('x', new Date()).catch((caught: unknown) => caught);
      expect(isAuthError(error) && error.code).toBe('STORE_UNAVAILABLE');
      const failed = spanNamed('find session of refresh token');
      expect(failed.status.code).toBe(api.SpanStatusCode.ERROR);
      expect(failed.attributes['db.response.status_code']).toBe('42P01');
      expect(failed.events.map((event) => event.name)).toEqual(['exception']);
    } finally {
      await client.query('RESET search_path');
      client.release();
    }
  });

  test('the revocation poll makes no trace of its own; inside a span its statement is traced', async () => {
    const store = createPostgresSessionStore({ pool, telemetry: true });
    await store.listRevokedSince(new Date());
    expect(exporter.getFinishedSpans()).toEqual([]);
    const parent = api.trace.getTracer('test').startSpan('logout');
    await api.context.with(api.trace.setSpan(api.context.active(), parent), () => store.listRevokedSince(new Date()));
    parent.end();
    expect(children(parent)).toEqual(['list revoked sessions']);
  });

  test('off by default: no span; a bad telemetry value is a TypeError naming the factory', async () => {
    const auth = await createAuth({
      ...options,
      stores: { sessions: createPostgresSessionStore({ pool }), devices: createPostgresDeviceTokenStore({ pool }) },
    });
    const pair = await auth.issueTokens({ id: 'bea' });
    await auth.refresh(pair.refreshToken);
    await auth.issueDeviceToken('bea');
    expect(exporter.getFinishedSpans()).toEqual([]);
    await auth.close();
    expect(() => createPostgresSessionStore({ pool, telemetry: { trace: {}, context: {} } })).toThrow(
      /^createPostgresSessionStore: `telemetry`/,
    );
    expect(() => createPostgresDeviceTokenStore({ pool, telemetry: 'on' as unknown as boolean })).toThrow(
      /^createPostgresDeviceTokenStore: `telemetry`/,
    );
  });
});
