import type { OnApplicationShutdown } from '@nestjs/common';
import type { RateLimitStore } from '@switchboard/ratelimit';
import { loadErrorMappers } from './error-mapping.ts';
import { ifInstalled, load } from './optional-peer.ts';
import type { SwitchboardModuleOptions } from './options.ts';

type RateLimitModule = typeof import('@switchboard/ratelimit');

/** What the module resolved at startup and the guards share. */
export class SwitchboardRuntime implements OnApplicationShutdown {
  constructor(
    readonly options: SwitchboardModuleOptions,
    /** @switchboard/ratelimit, when installed (an optional peer). */
    readonly ratelimit: RateLimitModule | undefined,
    readonly rateLimitStore: RateLimitStore | undefined,
    private readonly ownsStore: boolean,
  ) {}

  /** Closes the store the module made itself; the instances the application passed are its own to close. */
  async onApplicationShutdown(): Promise<void> {
    const store = this.rateLimitStore as { close?: () => unknown } | undefined;
    if (this.ownsStore && typeof store?.close === 'function') await store.close();
  }
}

/** Loads what is installed (error mappers, ratelimit) once, before the first request. */
export async function createRuntime(options: SwitchboardModuleOptions): Promise<SwitchboardRuntime> {
  await loadErrorMappers();
  // Not installed: fine until a RateLimitGuard is used, which then says what to install.
  const ratelimit = await ifInstalled(
    '@switchboard/ratelimit',
    load(
      () => require('@switchboard/ratelimit'),
      () => import('@switchboard/ratelimit'),
    ),
  );
  const ownsStore = options.rateLimitStore === undefined && ratelimit !== undefined;
  const store = options.rateLimitStore ?? ratelimit?.createMemoryStore();
  return new SwitchboardRuntime(options, ratelimit, store, ownsStore);
}
