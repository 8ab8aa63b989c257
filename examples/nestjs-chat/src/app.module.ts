import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type DynamicModule, Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { graphqlWsAuth, SwitchboardModule } from '@switchboard/nestjs';
import type { RateLimitStore } from '@switchboard/ratelimit';
import { AuthResolver } from './auth.resolver.ts';
import { AuthService } from './auth.service.ts';
import { ChatService } from './chat.service.ts';
import { MessageResolver } from './message.resolver.ts';
import { MessagesController } from './messages.controller.ts';
import { typeDefs } from './schema.ts';
import type { Switchboard } from './switchboard.ts';
import { SWITCHBOARD_APP } from './tokens.ts';

export interface ChatAppOptions {
  /** A Redis store (`createRedisStore`) so several instances share the limits; memory otherwise. */
  rateLimitStore?: RateLimitStore;
  /** Proxy hops in front (see SwitchboardModule's `trustProxy`). @default false */
  trustProxy?: boolean | number;
}

@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: Nest's dynamic-module convention
export class ChatAppModule {
  static forRoot(app: Switchboard, options: ChatAppOptions = {}): DynamicModule {
    return {
      module: ChatAppModule,
      imports: [
        SwitchboardModule.forRoot({
          auth: app.auth,
          rbac: app.rbac,
          ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
          ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
        }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          typeDefs,
          subscriptions: { 'graphql-ws': graphqlWsAuth({ auth: app.auth }) },
        }),
      ],
      controllers: [MessagesController],
      providers: [{ provide: SWITCHBOARD_APP, useValue: app }, AuthService, ChatService, AuthResolver, MessageResolver],
    };
  }
}
