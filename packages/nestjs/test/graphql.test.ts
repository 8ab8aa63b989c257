import 'reflect-metadata';
import { EventEmitter, on } from 'node:events';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Args, GraphQLModule, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { type Auth, createAuth, generateSigningKey } from '@switchboard/auth';
import { fixedWindow } from '@switchboard/ratelimit';
import { createRbac, type Rbac } from '@switchboard/rbac';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import {
  CurrentUser,
  graphqlWsAuth,
  JwtAuthGuard,
  PermissionGuard,
  RateLimit,
  RateLimitGuard,
  RequirePermission,
  SWITCHBOARD_AUTH,
  SwitchboardModule,
  ValibotPipe,
} from '../src/index.ts';
import { sendSchema } from './rest-app.ts';

const typeDefs = /* GraphQL */ `
  type Message { chatId: ID!, content: String!, senderId: ID! }
  input SendMessageInput { chatId: ID!, content: String! }
  type Query { me: ID! }
  type Mutation { sendMessage(input: SendMessageInput!): Message! }
  type Subscription { messageAdded(chatId: ID!): Message! }
`;

interface Message {
  chatId: string;
  content: string;
  senderId: string;
}

const bus = new EventEmitter();

async function* messagesIn(chatId: string, signal: AbortSignal): AsyncGenerator<{ messageAdded: Message }> {
  for await (const [message] of on(bus, 'message', { signal }) as AsyncIterable<[Message]>) {
    if (message.chatId === chatId) yield { messageAdded: message };
  }
}

@Resolver()
class MessageResolver {
  @Query('me')
  @UseGuards(JwtAuthGuard)
  me(@CurrentUser('userId') userId: string) {
    return userId;
  }

  @Mutation('sendMessage')
  @UseGuards(JwtAuthGuard, PermissionGuard, RateLimitGuard)
  @RequirePermission('message:send', { scope: 'chat:{args.input.chatId}' })
  @RateLimit({ algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }), key: 'user' })
  sendMessage(
    @Args('input', ValibotPipe(sendSchema)) input: { content: string },
    @Args('input') raw: { chatId: string },
    @CurrentUser('userId') senderId: string,
  ): Message {
    const message = { chatId: raw.chatId, content: input.content, senderId };
    bus.emit('message', message);
    return message;
  }

  @Subscription('messageAdded')
  @UseGuards(JwtAuthGuard, PermissionGuard)
  @RequirePermission('chat:read', { scope: 'chat:{args.chatId}' })
  messageAdded(@Args('chatId') chatId: string) {
    return messagesIn(chatId, AbortSignal.timeout(10_000));
  }
}

const platforms = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('a Nest GraphQL app (Apollo driver) on the %s platform', (_name, makeAdapter) => {
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
    @Module({
      imports: [
        SwitchboardModule.forRoot({ auth, rbac }),
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          inject: [SWITCHBOARD_AUTH],
          useFactory: (verifier: Auth) => ({
            typeDefs,
            subscriptions: { 'graphql-ws': graphqlWsAuth({ auth: verifier }) },
          }),
        }),
      ],
      providers: [MessageResolver],
    })
    class AppModule {}
    app = await NestFactory.create(AppModule, makeAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    rbac?.close();
  });

  const graphql = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as {
        data?: unknown;
        errors?: { message: string; extensions: Record<string, unknown> }[];
      },
    };
  };
  const send = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { chatId content senderId } }`;

  // @nestjs/apollo answers a resolver's error with HTTP 200 on purpose (its "preserve status"
  // plugin, nestjs/graphql#2940); the code says what happened and the headers still go out.
  test('UNAUTHENTICATED without a token (and the challenge header), the principal with one', async () => {
    const refused = await graphql('{ me }');
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(refused.body.errors?.[0]?.extensions).not.toHaveProperty('http');
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect((await graphql('{ me }', {}, ann)).body).toEqual({ data: { me: 'ann' } });
  });

  test('FORBIDDEN outside the chat; inside, sent; RATE_LIMITED with retryAfterMs and Retry-After past the limit', async () => {
    const outside = await graphql(send, { input: { chatId: 'c1', content: 'hi' } }, bob);
    expect(outside.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'chat:c1' });
    for (let i = 0; i < 2; i++) {
      const sent = await graphql(send, { input: { chatId: 'c1', content: ` hi ${i} ` } }, ann);
      expect(sent.body).toEqual({ data: { sendMessage: { chatId: 'c1', content: `hi ${i}`, senderId: 'ann' } } });
    }
    const limited = await graphql(send, { input: { chatId: 'c1', content: 'again' } }, ann);
    expect(limited.body.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: expect.any(Number),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('BAD_USER_INPUT with the field paths, from ValibotPipe and from a scope value that is not an id', async () => {
    await rbac.grant('cy', 'member', 'chat:c2');
    const { accessToken: cy } = await auth.issueTokens({ id: 'cy' });
    const blank = await graphql(send, { input: { chatId: 'c2', content: '  ' } }, cy);
    expect(blank.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      issues: [{ path: ['content'], message: 'must not be empty' }],
    });
    const wildcard = await graphql(send, { input: { chatId: '*', content: 'x' } }, cy);
    expect(wildcard.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('a subscription authenticated on connect receives the message; an unauthenticated one is refused', async () => {
    const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ann}` },
      retryAttempts: 0,
    });
    try {
      const received = new Promise<unknown>((resolve, reject) => {
        client.subscribe(
          { query: 'subscription { messageAdded(chatId: "c1") { content senderId } }' },
          { next: resolve, error: reject, complete: () => reject(new Error('completed early')) },
        );
      });
      // The subscription is set up once the server has run its guards: send until it arrives.
      const sender = setInterval(() => bus.emit('message', { chatId: 'c1', content: 'live', senderId: 'bob' }), 50);
      try {
        expect(await received).toEqual({ data: { messageAdded: { content: 'live', senderId: 'bob' } } });
      } finally {
        clearInterval(sender);
      }
    } finally {
      await client.dispose();
    }
    for (const connectionParams of [{}, { authorization: `Bearer ${ann.slice(0, -4)}AAAA` }]) {
      const anonymous = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
      const closed = await new Promise<unknown>((resolve) => {
        anonymous.subscribe(
          { query: 'subscription { messageAdded(chatId: "c1") { content } }' },
          { next: () => resolve('received'), error: resolve, complete: () => resolve('completed') },
        );
      });
      expect((closed as { code?: number }).code).toBe(4403);
      await anonymous.dispose();
    }
  });

  test('over graphql-ws, the guards run per operation: no access to a chat the user is not in', async () => {
    const client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bob}` },
      retryAttempts: 0,
    });
    try {
      const result = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription { messageAdded(chatId: "c1") { content } }' },
          { next: resolve, error: resolve, complete: () => resolve('completed') },
        );
      });
      expect(result).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    } finally {
      await client.dispose();
    }
  });
});
