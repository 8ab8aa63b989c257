/**
 * The guards' cost per request, side by side in one process: a bare Nest handler, the same
 * handler behind JwtAuthGuard, JwtAuthGuard + PermissionGuard (a chat-scoped grant, warm in
 * rbac's cache), RateLimitGuard, all three, and @nestjs/throttler's ThrottlerGuard against
 * RateLimitGuard (both in memory, one client, a limit never reached). Requests go through Nest's
 * whole pipeline on the Fastify platform with `inject` (no sockets: the number is Nest's and the
 * guards' work, not the kernel's). Prints a markdown table for the README.
 *
 * Run: npm run bench -w @switchboard/nestjs (bench/run.mjs compiles this file with esbuild first)
 */
import 'reflect-metadata';
import os from 'node:os';
import { Controller, Get, Module, Param, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Throttle, ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { createAuth, generateSigningKey } from '@switchboard/auth';
import { compare, type Measurement } from '@switchboard/bench';
// By package name: the built dist/ that users install.
import {
  JwtAuthGuard,
  PermissionGuard,
  RateLimit,
  RateLimitGuard,
  RequirePermission,
  SwitchboardModule,
} from '@switchboard/nestjs';
import { fixedWindow } from '@switchboard/ratelimit';
import { createRbac } from '@switchboard/rbac';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = 20;
const WARMUP_MS = 500;
const NEVER = 1_000_000_000;

@Controller()
class BenchController {
  @Get('bare/:chatId')
  bare(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('jwt/:chatId')
  @UseGuards(JwtAuthGuard)
  jwt(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('permission/:chatId')
  @UseGuards(JwtAuthGuard, PermissionGuard)
  @RequirePermission('message:send', { scope: 'chat:{params.chatId}' })
  permission(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('rate-limit/:chatId')
  @UseGuards(RateLimitGuard)
  @RateLimit({ algorithm: fixedWindow({ limit: NEVER, windowMs: 60_000 }), key: 'ip' })
  rateLimit(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('throttler/:chatId')
  @UseGuards(ThrottlerGuard)
  @Throttle({ default: { limit: NEVER, ttl: 60_000 } })
  throttler(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('all/:chatId')
  @UseGuards(JwtAuthGuard, PermissionGuard, RateLimitGuard)
  @RequirePermission('message:send', { scope: 'chat:{params.chatId}' })
  @RateLimit({ algorithm: fixedWindow({ limit: NEVER, windowMs: 60_000 }), key: 'user' })
  all(@Param('chatId') chatId: string) {
    return { chatId };
  }
}

const auth = await createAuth({ issuer: 'https://bench.test', audience: 'chat', keys: [await generateSigningKey()] });
const rbac = await createRbac({ roles: { member: { permissions: ['message:send'] } } });
await rbac.grant('ann', 'member', 'chat:c1');
const { accessToken } = await auth.issueTokens({ id: 'ann' });

@Module({
  imports: [
    SwitchboardModule.forRoot({ auth, rbac }),
    ThrottlerModule.forRoot({ throttlers: [{ name: 'default', limit: NEVER, ttl: 60_000 }] }),
  ],
  controllers: [BenchController],
})
class BenchModule {}

const app = await NestFactory.create<NestFastifyApplication>(BenchModule, new FastifyAdapter(), {
  logger: ['error'],
  abortOnError: false,
});
await app.init();
await app.getHttpAdapter().getInstance().ready();

const headers = { authorization: `Bearer ${accessToken}` };
const request = (path: string) => async () => {
  const response = await app.inject({ method: 'GET', url: `/${path}/c1`, headers });
  if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${response.body}`);
};

const options = { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: WARMUP_MS };
const rows: string[] = [];
const ops = (value: number) => Math.round(value).toLocaleString('en-US');
const table = (scenario: string, results: Record<string, Measurement>, baseline: string) => {
  const base = results[baseline];
  for (const [name, m] of Object.entries(results)) {
    const ratio = base ? `${(m.opsPerSec / base.opsPerSec).toFixed(2)}×` : '';
    const perRequest = base ? `${(((1 / m.opsPerSec - 1 / base.opsPerSec) * 1e6) | 0).toString()} µs` : '';
    rows.push(
      `| ${scenario} | ${name} | ${ops(m.opsPerSec)} | ${m.p50Ms.toFixed(3)} | ${m.p99Ms.toFixed(3)} | ${ratio} | ${name === baseline ? '–' : perRequest} |`,
    );
  }
};

table(
  'guards over a bare handler',
  await compare(
    {
      'bare handler': request('bare'),
      JwtAuthGuard: request('jwt'),
      'JwtAuthGuard + PermissionGuard': request('permission'),
      'JwtAuthGuard + PermissionGuard + RateLimitGuard': request('all'),
    },
    options,
  ),
  'bare handler',
);
table(
  'rate limiting, memory, one client',
  await compare(
    {
      '@nestjs/throttler ThrottlerGuard': request('throttler'),
      'RateLimitGuard (fixed window)': request('rate-limit'),
    },
    options,
  ),
  '@nestjs/throttler ThrottlerGuard',
);

await app.close();
rbac.close();
await auth.close();

const cpus = os.cpus();
const header = [
  `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), Nest 12 on Fastify with inject, ${CONCURRENCY} in flight, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds after ${WARMUP_MS} ms of warm-up each`,
  '',
  '| scenario | contender | requests/s | p50 ms | p99 ms | ÷ first row | cost per request |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
];
process.stdout.write(`${[...header, ...rows].join('\n')}\n`);
