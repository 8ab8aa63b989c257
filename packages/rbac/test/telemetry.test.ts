import * as api from '@opentelemetry/api';
import { type CollectedSeries, installTestMetrics, installTestTracing } from '@switchboard/infra/tracing';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { createMemoryGrantStore, createMemoryRbacBus, createRbac, type GrantStore } from '../src/index.ts';
import { type Message, roles } from './fixtures.ts';

// The real SDK, traces and metrics, registered globally as an application's NodeSDK would.
const tracing = installTestTracing();
const metrics = installTestMetrics();
const { exporter } = tracing;
afterAll(() => {
  tracing.uninstall();
  metrics.uninstall();
});
beforeEach(() => {
  exporter.reset();
});

const tracer = api.trace.getTracer('test');
const spanNames = () => exporter.getFinishedSpans().map((span) => span.name);
const tally = (counted: CollectedSeries[]) => {
  const counts: Record<string, number> = {};
  for (const { attributes, value } of counted) {
    const key = `${attributes['switchboard.rbac.permission']} ${attributes['switchboard.rbac.decision']}`;
    counts[key] = (counts[key] ?? 0) + value;
  }
  return counts;
};

describe('createRbac telemetry: the decisions counter', () => {
  test('every check of every kind counts once, by outcome and permission, with no user, scope or resource', async () => {
    const rbac = await createRbac({ roles, telemetry: true });
    await rbac.grant('alice', 'member', 'chat:A');
    const mine: Message = { senderId: 'alice' };
    const counted = await metrics.countedDuring(async () => {
      expect(await rbac.can('alice', 'message:send', { scope: 'chat:A' })).toBe(true);
      expect(await rbac.can('alice', 'message:send', { scope: 'chat:B' })).toBe(false);
      await expect(rbac.assert('alice', 'message:delete', { scope: 'chat:A' })).rejects.toThrow();
      await rbac.assert('alice', 'message:edit', { scope: 'chat:A', resource: mine });
      expect(
        await rbac.canMany('alice', [{ permission: 'message:read', scope: 'chat:A' }, { permission: 'chat:rename' }]),
      ).toEqual([true, false]);
      const alice = await rbac.forUser('alice');
      expect(alice.can('message:edit', { scope: 'chat:A', resource: { senderId: 'bob' } })).toBe(false);
      expect(() => alice.assert('message:read', { scope: 'chat:A' })).not.toThrow();
      // Explaining is not deciding: it is not counted.
      await rbac.explain('alice', 'message:send', { scope: 'chat:A' });
    });

    expect(tally(counted)).toEqual({
      'message:send allowed': 1,
      'message:send denied': 1,
      'message:delete denied': 1,
      'message:edit allowed': 1,
      'message:edit denied': 1,
      'message:read allowed': 2,
      'chat:rename denied': 1,
    });
    for (const record of counted) {
      expect(record).toMatchObject({
        meter: '@switchboard/rbac',
        metric: 'switchboard.rbac.decisions',
        unit: '{decision}',
      });
      expect(Object.keys(record.attributes ?? {}).sort()).toEqual([
        'switchboard.rbac.decision',
        'switchboard.rbac.permission',
      ]);
      expect(JSON.stringify(record.attributes)).not.toMatch(/alice|chat:A|bob/);
    }
    rbac.close();
  });

  test('a flood of distinct permissions (request data passed as a permission) cannot grow the series past 1000', async () => {
    const rbac = await createRbac({ roles, telemetry: true });
    await rbac.grant('mallory', 'reader');
    const flood = await metrics.countedDuring(async () => {
      for (let i = 0; i < 1_500; i++) await rbac.can('mallory', `message:${i}`);
    });
    const permissionOf = (series: CollectedSeries) => series.attributes['switchboard.rbac.permission'];
    const all = (await metrics.collect()).filter((series) => series.metric === 'switchboard.rbac.decisions');
    // At most 1000 permissions of their own (the earlier tests' among them), and `_OTHER`.
    expect(new Set(all.map(permissionOf)).size).toBe(1_001);
    const other = flood.filter((series) => permissionOf(series) === '_OTHER');
    const own = flood.filter((series) => permissionOf(series) !== '_OTHER');
    expect(other.map((series) => series.attributes['switchboard.rbac.decision'])).toEqual(['denied']);
    expect((other[0]?.value ?? 0) + own.length).toBe(1_500);
    expect(own.every((series) => series.value === 1)).toBe(true);
    // Known permissions keep their own series after the cap.
    const again = await metrics.countedDuring(() => rbac.can('mallory', 'message:3'));
    expect(again.map(permissionOf)).toEqual(['message:3']);
    rbac.close();
  });

  test('two instances add to the same series (an observable sum each would overwrite the other)', async () => {
    const first = await createRbac({ roles, telemetry: true });
    const second = await createRbac({ roles, telemetry: true });
    await first.grant('alice', 'member');
    await second.grant('alice', 'member');
    const counted = await metrics.countedDuring(async () => {
      for (const rbac of [first, second, first]) await rbac.can('alice', 'message:send');
    });
    expect(tally(counted)).toEqual({ 'message:send allowed': 3 });
    // A closed instance's counts stay: a counter does not go down.
    first.close();
    const afterClose = await metrics.countedDuring(() => second.can('alice', 'message:send'));
    expect(tally(afterClose)).toEqual({ 'message:send allowed': 1 });
    second.close();
  });

  test('an API object without metrics counts nothing and still traces', async () => {
    const rbac = await createRbac({ roles, telemetry: { trace: api.trace, context: api.context } });
    expect(await metrics.countedDuring(() => rbac.can('alice', 'message:send'))).toEqual([]);
    expect(spanNames()).toEqual(['switchboard.rbac.load_grants']);
    rbac.close();
  });
});

describe('createRbac telemetry: spans around I/O only', () => {
  test('a cache miss loads grants in a span (child of the caller, with the grant count); warm checks make none', async () => {
    const rbac = await createRbac({ roles, telemetry: true });
    await rbac.grant('alice', 'member', 'chat:A');
    await rbac.grant('alice', 'reader');
    exporter.reset();
    const request = tracer.startSpan('POST /graphql');
    await api.context.with(api.trace.setSpan(api.context.active(), request), async () => {
      for (let i = 0; i < 5; i++) await rbac.can('alice', 'message:send', { scope: 'chat:A' });
    });
    request.end();
    expect(spanNames()).toEqual(['switchboard.rbac.load_grants', 'POST /graphql']);
    const [load] = exporter.getFinishedSpans();
    expect(load?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(load?.attributes).toEqual({ 'switchboard.rbac.grants.count': 2 });
    rbac.close();
  });

  test('grant and revoke run in spans holding the store write and the bus message; a failing store ends its span in error', async () => {
    const inner = createMemoryGrantStore();
    const store: GrantStore = {
      ...inner,
      async grant(userId, role, scope) {
        tracer.startSpan('store write').end();
        if (userId === 'broken') throw new Error('store down');
        return inner.grant(userId, role, scope);
      },
    };
    const bus = createMemoryRbacBus();
    const rbac = await createRbac({ roles, store, cache: { bus }, telemetry: true });
    await rbac.grant('alice', 'admin', 'chat:A');
    await rbac.revoke('alice', 'admin', 'chat:A');
    const [write, grant, revoke] = exporter.getFinishedSpans();
    expect([write?.name, grant?.name, revoke?.name]).toEqual([
      'store write',
      'switchboard.rbac.grant',
      'switchboard.rbac.revoke',
    ]);
    expect(write?.parentSpanContext?.spanId).toBe(grant?.spanContext().spanId);
    expect(grant?.attributes).toEqual({ 'switchboard.rbac.role': 'admin', 'switchboard.rbac.scope': 'chat:A' });
    exporter.reset();
    await rbac.grant('gina', 'admin');
    expect(exporter.getFinishedSpans().at(-1)?.attributes).toEqual({ 'switchboard.rbac.role': 'admin' });
    exporter.reset();
    await rbac.revokeScope('alice', 'chat:A');
    const [removal] = exporter.getFinishedSpans();
    expect(removal?.name).toBe('switchboard.rbac.revoke_scope');
    expect(removal?.attributes).toEqual({ 'switchboard.rbac.scope': 'chat:A' });

    const failure = rbac.grant('broken', 'admin');
    await expect(failure).rejects.toThrow('store down');
    const failed = exporter.getFinishedSpans().at(-1);
    expect(failed?.name).toBe('switchboard.rbac.grant');
    expect(failed?.status).toEqual({ code: api.SpanStatusCode.ERROR, message: 'store down' });
    expect(failed?.events.map((event) => event.name)).toEqual(['exception']);
    rbac.close();
  });

  test('a failed grant load ends its span in error and the check rejects as before', async () => {
    const store: GrantStore = {
      ...createMemoryGrantStore(),
      grantsOf: async () => Promise.reject(new Error('db down')),
    };
    const rbac = await createRbac({ roles, store, telemetry: true });
    await expect(rbac.can('alice', 'message:send')).rejects.toThrow('db down');
    const [load] = exporter.getFinishedSpans();
    expect(load?.name).toBe('switchboard.rbac.load_grants');
    expect(load?.status.code).toBe(api.SpanStatusCode.ERROR);
    rbac.close();
  });
});

describe('createRbac telemetry off (the default)', () => {
  test('no span and no count, the same answers', async () => {
    const counted = await metrics.countedDuring(async () => {
      for (const telemetry of [undefined, false]) {
        const rbac = await createRbac({ roles, ...(telemetry === undefined ? {} : { telemetry }) });
        await rbac.grant('alice', 'member', 'chat:A');
        expect(await rbac.can('alice', 'message:send', { scope: 'chat:A' })).toBe(true);
        expect(await rbac.can('alice', 'chat:rename', { scope: 'chat:A' })).toBe(false);
        rbac.close();
      }
    });
    expect(spanNames()).toEqual([]);
    expect(counted).toEqual([]);
  });

  test('a telemetry value that is not true, false or the API is a TypeError naming the factory', async () => {
    await expect(createRbac({ roles, telemetry: { trace: {}, context: {} } })).rejects.toThrow(
      /^createRbac: `telemetry`/,
    );
    await expect(createRbac({ roles, telemetry: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
  });
});
