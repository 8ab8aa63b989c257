import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createAuth, generateSigningKey } from '@switchboard/auth';
import { sentinelClientOptions } from '@switchboard/infra';
import { fixedWindow } from '@switchboard/ratelimit';
import { createRedisStore } from '@switchboard/ratelimit/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import {
  JwtAuthGuard,
  RateLimit,
  RateLimitGuard,
  SWITCHBOARD_RATE_LIMIT_STORE,
  SwitchboardModule,
} from '../src/index.ts';

@Controller()
@UseGuards(JwtAuthGuard, RateLimitGuard)
class SendController {
  @Get('send')
  @RateLimit({
    algorithm: fixedWindow({ limit: 4, windowMs: 60_000 }),
    key: 'user',
    prefix: `send-${process.pid}-${Date.now()}`,
  })
  send() {
    return { sent: true };
  }
}

const clients: Redis[] = [];
const apps: Awaited<ReturnType<typeof NestFactory.create>>[] = [];
const urls: string[] = [];
let token: string;

beforeAll(async () => {
  const auth = await createAuth({ issuer: 'https://nest.test', audience: 'chat', keys: [await generateSigningKey()] });
  ({ accessToken: token } = await auth.issueTokens({ id: 'ann' }));
  // Two instances (one per platform), each with its own Redis client, options from forRootAsync.
  for (const makeAdapter of [() => new ExpressAdapter(), () => new FastifyAdapter()]) {
    const info = inject('infra').redis;
    if (!info) throw new Error('the shared topology has no Redis');
    const client = new Redis(sentinelClientOptions(info));
    clients.push(client);
    @Module({
      imports: [
        SwitchboardModule.forRootAsync({
          useFactory: async () => ({ auth, rateLimitStore: createRedisStore({ client }) }),
        }),
      ],
      controllers: [SendController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, makeAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    urls.push((await app.getUrl()).replace('[::1]', '127.0.0.1'));
  }
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const client of clients) client.disconnect();
});

test('two instances count one budget in Redis: the fifth call is refused on whichever instance gets it', async () => {
  expect(apps[0]?.get(SWITCHBOARD_RATE_LIMIT_STORE)).toHaveProperty('evaluate');
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const response = await fetch(`${urls[i % 2]}/send`, { headers: { authorization: `Bearer ${token}` } });
    statuses.push(response.status);
    if (i === 4) {
      expect(response.headers.get('ratelimit')).toMatch(/^"default";r=0;/);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  }
  expect(statuses).toEqual([200, 200, 200, 200, 429]);
});

test('the instances passed in are the application’s: closing one app leaves its Redis client usable', async () => {
  await apps.pop()?.close();
  expect(await clients[1]?.ping()).toBe('PONG');
});
