import 'reflect-metadata';
import type { ArgumentsHost } from '@nestjs/common';
import { fixedWindow } from '@switchboard/ratelimit';
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import { callSiteOf } from '../src/call-site.ts';
import { clientAddress } from '../src/client-ip.ts';
import { RateLimit, RequirePermission, SwitchboardModule, ValibotPipe } from '../src/index.ts';
import { parseScopeTemplate, resolveScope } from '../src/scope-template.ts';

const httpSite = (request: Record<string, unknown>) =>
  callSiteOf({
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => ({ headers: {}, ...request }), getResponse: () => ({}) }),
  } as unknown as ArgumentsHost);
const graphqlSite = (args: Record<string, unknown>) =>
  callSiteOf({
    getType: () => 'graphql',
    getArgs: () => [undefined, args, { req: { headers: {} } }, {}],
  } as unknown as ArgumentsHost);

describe('scope templates', () => {
  test('each source reads only itself; nested args paths work; numbers become ids', () => {
    const template = parseScopeTemplate('chat:{params.chatId}');
    expect(resolveScope(template, httpSite({ params: { chatId: 'c1' } }))).toEqual({ ok: true, scope: 'chat:c1' });
    // The same id elsewhere in the request does not stand in for a missing param.
    expect(resolveScope(template, httpSite({ params: {}, body: { chatId: 'c1' }, query: { chatId: 'c1' } }))).toEqual({
      ok: false,
      message: 'chatId is required',
    });
    const nested = parseScopeTemplate('org:{args.input.orgId}/chat:{args.input.chatId}');
    expect(resolveScope(nested, graphqlSite({ input: { orgId: 7, chatId: 'c-1' } }))).toEqual({
      ok: true,
      scope: 'org:7/chat:c-1',
    });
  });

  test('mistakes fail at the decorator: unknown source, no field, braces, empty', () => {
    expect(() => parseScopeTemplate('chat:{headers.chatId}')).toThrow(
      /must start with params\., query\., body\. or args\./,
    );
    expect(() => parseScopeTemplate('chat:{chatId}')).toThrow(/must start with/);
    expect(() => parseScopeTemplate('chat:{args}')).toThrow(/names no field/);
    expect(() => parseScopeTemplate('chat:{args.input..chatId}')).toThrow(/names no field/);
    expect(() => parseScopeTemplate('chat:{args.chatId')).toThrow(/unbalanced/);
    expect(() => parseScopeTemplate('')).toThrow(/non-empty/);
    expect(() => RequirePermission('message:send', { scope: 'chat:{cookies.chatId}' })).toThrow(TypeError);
    expect(() => RequirePermission('', {})).toThrow(/permission must be/);
  });

  test('attack: values shaped like scopes, wildcards, objects or inherited properties are refused', () => {
    const template = parseScopeTemplate('chat:{args.chatId}');
    for (const chatId of [
      '*',
      'c1:admin',
      'c1/chat:c2',
      'a b',
      '',
      'x'.repeat(201),
      { toString: () => 'c1' },
      ['c1'],
      1.5,
      true,
    ])
      expect(resolveScope(template, graphqlSite({ chatId })).ok, JSON.stringify(chatId)).toBe(false);
    // Only own properties: an inherited one (or a prototype's) never fills a scope.
    const inherited = Object.create({ chatId: 'c1' });
    expect(resolveScope(template, graphqlSite(inherited)).ok).toBe(false);
    expect(resolveScope(parseScopeTemplate('x:{args.constructor}'), graphqlSite({})).ok).toBe(false);
    expect(resolveScope(parseScopeTemplate('x:{args.__proto__}'), graphqlSite({})).ok).toBe(false);
  });

  test('a source the handler kind does not have is a server error, not a 400', () => {
    expect(() => resolveScope(parseScopeTemplate('chat:{args.chatId}'), httpSite({}))).toThrow(
      /args are for resolvers/,
    );
    expect(() => resolveScope(parseScopeTemplate('chat:{params.chatId}'), graphqlSite({}))).toThrow(
      /resolvers use args/,
    );
  });
});

describe('clientAddress', () => {
  test('no trusted proxy: the socket, whatever X-Forwarded-For says', () => {
    expect(clientAddress('10.0.0.1', '203.0.113.7', false)).toBe('10.0.0.1');
    expect(clientAddress('10.0.0.1', '203.0.113.7', undefined)).toBe('10.0.0.1');
  });

  test('attack: with one trusted hop, an address the client prepends is never taken', () => {
    expect(clientAddress('10.0.0.1', '203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.1', '198.51.100.66, 203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.1', ['198.51.100.66', '203.0.113.7'], 1)).toBe('203.0.113.7');
    // Two hops of ours: the address the outer proxy saw.
    expect(clientAddress('10.0.0.1', '198.51.100.66, 203.0.113.7, 10.0.0.2', 2)).toBe('203.0.113.7');
    // More hops than the header has: the leftmost address, never beyond.
    expect(clientAddress('10.0.0.1', '203.0.113.7', 5)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.1', undefined, 1)).toBe('10.0.0.1');
    expect(clientAddress('10.0.0.1', '198.51.100.66, 203.0.113.7', true)).toBe('198.51.100.66');
  });
});

describe('misuse fails at startup with a TypeError naming the option', () => {
  test('SwitchboardModule', () => {
    expect(() => SwitchboardModule.forRoot({} as never)).toThrow(/`auth` must be/);
    const auth = { verifyAccessToken: async () => ({ userId: 'u', sessionId: 's', claims: {} }) } as never;
    expect(() => SwitchboardModule.forRoot({ auth, rbac: {} as never })).toThrow(/`rbac` must be/);
    expect(() => SwitchboardModule.forRoot({ auth, rateLimitStore: {} as never })).toThrow(/`rateLimitStore`/);
    expect(() => SwitchboardModule.forRoot({ auth, trustProxy: -1 })).toThrow(/`trustProxy`/);
    expect(() => SwitchboardModule.forRoot({ auth, trustProxy: '1' as never })).toThrow(/`trustProxy`/);
    expect(() => SwitchboardModule.forRootAsync({} as never)).toThrow(/`useFactory`/);
    expect(SwitchboardModule.forRoot({ auth }).global).toBe(true);
  });

  test('RateLimit and ValibotPipe', () => {
    const algorithm = fixedWindow({ limit: 1, windowMs: 1_000 });
    expect(() => RateLimit({ algorithm: { limit: 1 } as never, key: 'user' })).toThrow(/`algorithm`/);
    expect(() => RateLimit({ algorithm, key: 'session' as never })).toThrow(/`key`/);
    expect(() => RateLimit({ algorithm, key: 'ip', cost: 0 })).toThrow(/`cost`/);
    expect(() => RateLimit({ algorithm, key: 'ip', prefix: '' })).toThrow(/`prefix`/);
    expect(() => ValibotPipe({} as never)).toThrow(/valibot schema/);
    expect(ValibotPipe(v.string())).toHaveProperty('transform');
  });
});
