import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { type Auth, createAuth, generateSigningKey } from '@switchboard/auth';
import { createRbac, type Rbac } from '@switchboard/rbac';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SwitchboardModule } from '../src/index.ts';
import { ChatModule } from './rest-app.ts';

const platforms = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('a Nest REST app on the %s platform', (_name, makeAdapter) => {
  let app: Awaited<ReturnType<typeof NestFactory.create>>;
  let url: string;
  let auth: Auth;
  let rbac: Rbac;
  let ann: string;
  let bob: string;

  beforeAll(async () => {
    auth = await createAuth({ issuer: 'https://nest.test', audience: 'chat', keys: [await generateSigningKey()] });
    rbac = await createRbac({ roles: { member: { permissions: ['message:send', 'chat:read'] } } });
    await rbac.grant('ann', 'member', 'chat:c1');
    ({ accessToken: ann } = await auth.issueTokens({ id: 'ann' }));
    ({ accessToken: bob } = await auth.issueTokens({ id: 'bob' }));
    @Module({ imports: [SwitchboardModule.forRoot({ auth, rbac }), ChatModule] })
    class AppModule {}
    app = await NestFactory.create(AppModule, makeAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    rbac?.close();
  });

  const call = (path: string, init: { token?: string; method?: string; body?: unknown } = {}) =>
    fetch(`${url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  test('401 without a token, with the challenge and the code; the principal with one', async () => {
    const refused = await call('/me');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refused.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const me = await call('/me', { token: ann });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ userId: 'ann' });
  });

  test('attack: a forged token is refused with invalid_token; @Public takes it as anonymous, refusing nothing', async () => {
    const forged = `${ann.slice(0, -4)}AAAA`;
    const refused = await call('/me', { token: forged });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    expect(await refused.json()).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    expect(await (await call('/open', { token: forged })).json()).toEqual({ userId: null });
    expect(await (await call('/open', { token: ann })).json()).toEqual({ userId: 'ann' });
  });

  test('403 outside the chat, 201 inside, 429 with the headers past the limit', async () => {
    const outside = await call('/chats/c1/messages', { token: bob, method: 'POST', body: { content: 'hi' } });
    expect(outside.status).toBe(403);
    expect(await outside.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'message:send', scope: 'chat:c1' });
    for (let i = 0; i < 3; i++) {
      const sent = await call('/chats/c1/messages', { token: ann, method: 'POST', body: { content: ` hi ${i} ` } });
      expect(sent.status).toBe(201);
      expect(await sent.json()).toEqual({ chatId: 'c1', content: `hi ${i}` });
      expect(sent.headers.get('ratelimit')).toMatch(new RegExp(`^"default";r=${2 - i};t=\\d+$`));
    }
    const limited = await call('/chats/c1/messages', { token: ann, method: 'POST', body: { content: 'again' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit-policy')).toBe('"default";q=3;w=60');
    expect(await limited.json()).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
  });

  test('ValibotPipe: 400 / BAD_USER_INPUT with the field paths', async () => {
    await rbac.grant('cy', 'member', 'chat:c2');
    const { accessToken: cy } = await auth.issueTokens({ id: 'cy' });
    const response = await call('/chats/c2/messages', { token: cy, method: 'POST', body: { content: '   ' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'BAD_USER_INPUT',
      issues: [{ path: ['content'], message: 'must not be empty' }],
    });
  });

  test('attack: a scope value shaped to reach another scope is a 400, a missing one too', async () => {
    for (const chatId of ['*', 'c1:admin', 'c1 ', '']) {
      const response = await call('/messages', { token: ann, method: 'POST', body: { chatId } });
      expect(response.status, JSON.stringify(chatId)).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    const missing = await call('/messages', { token: ann, method: 'POST', body: {} });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: 'BAD_USER_INPUT', error: 'chatId is required' });
    // Only body.chatId counts: an id in the query string is not looked at.
    const fromQuery = await call('/messages?chatId=c1', { token: ann, method: 'POST', body: {} });
    expect(fromQuery.status).toBe(400);
    expect((await call('/messages', { token: ann, method: 'POST', body: { chatId: 'c1' } })).status).toBe(201);
  });

  test("'ip' limits count the socket's address when no proxy is trusted; a forged X-Forwarded-For buys nothing", async () => {
    for (let i = 0; i < 2; i++)
      expect((await fetch(`${url}/ping`, { headers: { 'x-forwarded-for': `203.0.113.${i}` } })).status).toBe(200);
    const refused = await fetch(`${url}/ping`, { headers: { 'x-forwarded-for': '203.0.113.99' } });
    expect(refused.status).toBe(429);
  });

  test('a permission on a @Public() handler: anonymous is 401 with the challenge, a member passes', async () => {
    const anonymous = await call('/chats/c1/preview');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await call('/chats/c1/preview', { token: ann })).status).toBe(200);
    expect((await call('/chats/c1/preview', { token: bob })).status).toBe(403);
  });

  test('a package error thrown in a handler goes through the filter: 403 FORBIDDEN, not a 500', async () => {
    const response = await call('/chats/c1/members', { token: ann });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe("the module's trustProxy reaches RateLimitGuard's 'ip' key", () => {
  let app: Awaited<ReturnType<typeof NestFactory.create>>;
  let url: string;

  beforeAll(async () => {
    const auth = await createAuth({
      issuer: 'https://nest.test',
      audience: 'chat',
      keys: [await generateSigningKey()],
    });
    // One proxy hop of ours in front: the client is the address it saw (the rightmost forwarded).
    @Module({ imports: [SwitchboardModule.forRoot({ auth, trustProxy: 1 }), ChatModule] })
    class ProxiedModule {}
    app = await NestFactory.create(ProxiedModule, new ExpressAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  const ping = (forwardedFor: string) => fetch(`${url}/ping`, { headers: { 'x-forwarded-for': forwardedFor } });

  test('each forwarded client counts on its own; attack: a forged hop prepended buys no fresh count', async () => {
    expect((await ping('203.0.113.1')).status).toBe(200);
    expect((await ping('203.0.113.1')).status).toBe(200);
    expect((await ping('203.0.113.1')).status).toBe(429);
    expect((await ping('198.51.100.9, 203.0.113.1')).status).toBe(429);
    expect((await ping('203.0.113.2')).status).toBe(200);
  });
});
