import { type DynamicModule, Global, Module, type ModuleMetadata, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SwitchboardExceptionFilter } from './exception-filter.ts';
import { JwtAuthGuard } from './jwt-auth.guard.ts';
import { checkModuleOptions, type SwitchboardModuleOptions } from './options.ts';
import { PermissionGuard } from './permission.guard.ts';
import { RateLimitGuard } from './rate-limit.guard.ts';
import { createRuntime, type SwitchboardRuntime } from './runtime.ts';
import {
  SWITCHBOARD_AUTH,
  SWITCHBOARD_OPTIONS,
  SWITCHBOARD_RATE_LIMIT_STORE,
  SWITCHBOARD_RBAC,
  SWITCHBOARD_RUNTIME,
} from './tokens.ts';

/** `SwitchboardModule.forRootAsync`: options from other providers (a config service, a pool). */
export interface SwitchboardModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  // biome-ignore lint/suspicious/noExplicitAny: Nest's own signature for injection tokens and factory arguments
  inject?: any[];
  // biome-ignore lint/suspicious/noExplicitAny: the factory receives whatever `inject` names
  useFactory: (...args: any[]) => AsyncModuleOptions | Promise<AsyncModuleOptions>;
  /** Register `SwitchboardExceptionFilter` application-wide (decided here, before the factory runs). @default true */
  exceptionFilter?: boolean;
}

/** What `forRootAsync`'s factory returns: the options, less `exceptionFilter` (given beside `useFactory`). */
export type AsyncModuleOptions = Omit<SwitchboardModuleOptions, 'exceptionFilter'>;

/**
 * The Switchboard instances for the whole application (a global module): `@InjectAuth()`,
 * `@InjectRbac()`, and the guards (`JwtAuthGuard`, `PermissionGuard`, `RateLimitGuard`) work in
 * every module once it is imported in the root one. Registers `SwitchboardExceptionFilter`
 * application-wide unless `exceptionFilter: false`.
 *
 * @example
 * @Module({ imports: [SwitchboardModule.forRoot({ auth, rbac })], controllers: [MessagesController] })
 * export class AppModule {}
 */
@Global()
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: Nest's dynamic-module convention (forRoot / forRootAsync on the module class)
export class SwitchboardModule {
  static forRoot(options: SwitchboardModuleOptions): DynamicModule {
    const checked = checkModuleOptions(options);
    return SwitchboardModule.build({ provide: SWITCHBOARD_OPTIONS, useValue: checked }, [], checked.exceptionFilter);
  }

  static forRootAsync(options: SwitchboardModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function')
      throw new TypeError('SwitchboardModule.forRootAsync: `useFactory` must be a function returning the options');
    if (options.exceptionFilter !== undefined && typeof options.exceptionFilter !== 'boolean')
      throw new TypeError('SwitchboardModule.forRootAsync: `exceptionFilter` must be a boolean');
    return SwitchboardModule.build(
      {
        provide: SWITCHBOARD_OPTIONS,
        inject: options.inject ?? [],
        useFactory: async (...args: unknown[]) => checkModuleOptions(await options.useFactory(...args)),
      },
      options.imports ?? [],
      options.exceptionFilter,
    );
  }

  private static build(
    optionsProvider: Provider,
    imports: NonNullable<ModuleMetadata['imports']>,
    exceptionFilter: boolean | undefined,
  ): DynamicModule {
    const providers: Provider[] = [
      optionsProvider,
      { provide: SWITCHBOARD_RUNTIME, inject: [SWITCHBOARD_OPTIONS], useFactory: createRuntime },
      {
        provide: SWITCHBOARD_AUTH,
        inject: [SWITCHBOARD_OPTIONS],
        useFactory: (options: SwitchboardModuleOptions) => options.auth,
      },
      {
        provide: SWITCHBOARD_RBAC,
        inject: [SWITCHBOARD_OPTIONS],
        useFactory: (options: SwitchboardModuleOptions) => options.rbac ?? null,
      },
      {
        provide: SWITCHBOARD_RATE_LIMIT_STORE,
        inject: [SWITCHBOARD_RUNTIME],
        useFactory: (runtime: SwitchboardRuntime) => runtime.rateLimitStore ?? null,
      },
      JwtAuthGuard,
      PermissionGuard,
      RateLimitGuard,
    ];
    if (exceptionFilter !== false) providers.push({ provide: APP_FILTER, useClass: SwitchboardExceptionFilter });
    return {
      module: SwitchboardModule,
      global: true,
      imports,
      providers,
      exports: [
        SWITCHBOARD_OPTIONS,
        SWITCHBOARD_RUNTIME,
        SWITCHBOARD_AUTH,
        SWITCHBOARD_RBAC,
        SWITCHBOARD_RATE_LIMIT_STORE,
        JwtAuthGuard,
        PermissionGuard,
        RateLimitGuard,
      ],
    };
  }
}
