import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ChatAppModule, type ChatAppOptions } from './app.module.ts';
import { SwitchboardNestLogger } from './nest-logger.ts';
import type { Switchboard } from './switchboard.ts';

export interface NestChatOptions extends ChatAppOptions {
  /** @default 'express' */
  platform?: 'express' | 'fastify';
}

/** The Nest application over `app` (not listening yet). */
export async function createNestChat(app: Switchboard, options: NestChatOptions = {}): Promise<INestApplication> {
  const adapter = options.platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  return NestFactory.create(ChatAppModule.forRoot(app, options), adapter, {
    logger: new SwitchboardNestLogger(app.log),
    abortOnError: false,
  });
}
