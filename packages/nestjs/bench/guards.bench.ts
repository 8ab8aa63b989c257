/**
 * The guards' cost, side by side in one process, two ways:
 *
 * 1. Per request, through Nest's whole pipeline on the Fastify platform over keep-alive loopback
 *    HTTP from this same process: a bare handler, then behind JwtAuthGuard, + PermissionGuard (a
 *    chat-scoped grant, warm in rbac's cache), + RateLimitGuard. (Fastify's `inject` would spare
 *    the sockets, but with Nest 12 it keeps ~10 KB per request alive: a long run runs out of
 *    memory.)
 * 2. Per guard call, `canActivate` alone on a prepared ExecutionContext: what each guard adds
 *    to any request, without the HTTP stack's noise around it.
 *
 * Rate limiting against @nestjs/throttler's ThrottlerGuard, both in memory, as a deployment
 * sees them: 100,000 clients, each under a limit of 100 a minute (throttler keeps a log of hit
 * times, so it is set against our sliding-window log, and our fixed window is shown too).
 * Prints a markdown table for the README.
 *
 * Run: npm run bench -w @switchboard/nestjs (bench/run.mjs compiles this file with esbuild first)
 */
import 'reflect-metadata';
import os from 'node:os';
import { Controller, type ExecutionContext, Get, Injectable, Module, Param, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
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
import { fixedWindow, slidingWindowLog } from '@switchboard/ratelimit';
import { createRbac } from '@switchboard/rbac';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = 20;
const WARMUP_MS = 500;
const CLIENTS = 100_000;
const LIMIT = { limit: 100, windowMs: 60_000 };

const clientOf = (context: ExecutionContext) =>
  String(context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-client']);

/** ThrottlerGuard counting per client header, as per-user throttling is configured. */
@Injectable()
class PerClientThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return String((request.headers as Record<string, string>)['x-client']);
  }
}

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

  @Get('all/:chatId')
  @UseGuards(JwtAuthGuard, PermissionGuard, RateLimitGuard)
  @RequirePermission('message:send', { scope: 'chat:{params.chatId}' })
  @RateLimit({ algorithm: fixedWindow(LIMIT), key: clientOf })
  all(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('throttler/:chatId')
  @UseGuards(PerClientThrottlerGuard)
  @Throttle({ default: { limit: LIMIT.limit, ttl: LIMIT.windowMs } })
  throttler(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('sliding-log/:chatId')
  @UseGuards(RateLimitGuard)
  @RateLimit({ algorithm: slidingWindowLog(LIMIT), key: clientOf })
  slidingLog(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Get('fixed-window/:chatId')
  @UseGuards(RateLimitGuard)
  @RateLimit({ algorithm: fixedWindow(LIMIT), key: clientOf })
  fixedWindow(@Param('chatId') chatId: string) {
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
    ThrottlerModule.forRoot({ throttlers: [{ name: 'default', limit: LIMIT.limit, ttl: LIMIT.windowMs }] }),
  ],
  controllers: [BenchController],
  providers: [PerClientThrottlerGuard],
})
class BenchModule {}

const app = await NestFactory.create<NestFastifyApplication>(BenchModule, new FastifyAdapter(), {
  logger: ['error'],
  abortOnError: false,
});
await app.listen(0, '127.0.0.1');
const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');

const authorization = `Bearer ${accessToken}`;
const request = (path: string) => async (i: number) => {
  const response = await fetch(`${url}/${path}/c1`, { headers: { authorization, 'x-client': `c${i % CLIENTS}` } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body}`);
};

/** `canActivate` alone, on a context Nest would build for GET /<handler>/c1. */
const guardCall = (guards: CanActivateLike[], handler: keyof BenchController) => {
  const method = BenchController.prototype[handler];
  return async (i: number) => {
    const req = {
      headers: { authorization, 'x-client': `c${i % CLIENTS}` },
      params: { chatId: 'c1' },
      socket: { remoteAddress: '127.0.0.1' },
    };
    const reply = { header: () => reply };
    const context = new ExecutionContextHost([req, reply, () => {}], BenchController, method);
    context.setType('http');
    for (const guard of guards) if (!(await guard.canActivate(context))) throw new Error(`${handler}: refused`);
  };
};
interface CanActivateLike {
  canActivate(context: ExecutionContext): boolean | Promise<boolean>;
}
const jwtGuard = app.get(JwtAuthGuard);
const permissionGuard = app.get(PermissionGuard);
const rateLimitGuard = app.get(RateLimitGuard);
const throttlerGuard = app.get(PerClientThrottlerGuard);

const options = { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: WARMUP_MS };
const rows: string[] = [];
const ops = (value: number) => Math.round(value).toLocaleString('en-US');
const table = (scenario: string, results: Record<string, Measurement>, baseline: string, costs: boolean) => {
  const base = results[baseline];
  for (const [name, m] of Object.entries(results)) {
    const ratio = base ? `${(m.opsPerSec / base.opsPerSec).toFixed(2)}×` : '';
    const added = base ? `${((1 / m.opsPerSec - 1 / base.opsPerSec) * 1e6).toFixed(1)} µs` : '';
    const cost = costs ? `${(1e6 / m.opsPerSec).toFixed(1)} µs` : name === baseline ? '–' : added;
    rows.push(`| ${scenario} | ${name} | ${ops(m.opsPerSec)} | ${m.p50Ms.toFixed(3)} | ${ratio} | ${cost} |`);
  }
};

table(
  'per request, over a bare handler',
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
  false,
);
table(
  'per request, rate limiting (100,000 clients, 100/min each)',
  await compare(
    {
      '@nestjs/throttler ThrottlerGuard': request('throttler'),
      'RateLimitGuard, sliding-window log': request('sliding-log'),
      'RateLimitGuard, fixed window': request('fixed-window'),
    },
    options,
  ),
  '@nestjs/throttler ThrottlerGuard',
  false,
);
table(
  'per guard call (canActivate alone)',
  await compare(
    {
      '@nestjs/throttler ThrottlerGuard': guardCall([throttlerGuard], 'throttler'),
      'RateLimitGuard, sliding-window log': guardCall([rateLimitGuard], 'slidingLog'),
      'RateLimitGuard, fixed window': guardCall([rateLimitGuard], 'fixedWindow'),
      JwtAuthGuard: guardCall([jwtGuard], 'jwt'),
      'JwtAuthGuard + PermissionGuard': guardCall([jwtGuard, permissionGuard], 'permission'),
    },
    options,
  ),
  '@nestjs/throttler ThrottlerGuard',
  true,
);

await app.close();
rbac.close();
await auth.close();

const cpus = os.cpus();
const header = [
  `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), Nest 12 on Fastify, loopback HTTP (keep-alive) from the same process, ${CONCURRENCY} in flight, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds after ${WARMUP_MS} ms of warm-up each`,
  '',
  '| scenario | contender | ops/s | p50 ms | ÷ first row | added per request (per call: time per call) |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
];
process.stdout.write(`${[...header, ...rows].join('\n')}\n`);
