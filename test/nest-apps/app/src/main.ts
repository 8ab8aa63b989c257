import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { scenario } from './scenario.js';

// Runs the scenario on both platforms; exit code 0 only when every step answered as expected.
// (A function, not top-level await: this file is also compiled to CommonJS.)
async function main(): Promise<boolean> {
  let failed = false;
  for (const [name, adapter] of [
    ['express', () => new ExpressAdapter()],
    ['fastify', () => new FastifyAdapter()],
  ] as const) {
    // abortOnError: false, so that a failure at startup reaches main()'s catch and is printed.
    const app = await NestFactory.create(AppModule, adapter(), { logger: ['error'], abortOnError: false });
    await app.listen(0, '127.0.0.1');
    try {
      const problems = await scenario(app);
      for (const problem of problems) console.error(`${name}: ${problem}`);
      failed ||= problems.length > 0;
      console.log(`${name}: ${problems.length === 0 ? 'ok' : 'FAILED'}`);
    } finally {
      await app.close();
    }
  }
  return !failed;
}

main().then(
  (ok) => {
    process.exitCode = ok ? 0 : 1;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
