import { Inject, UseGuards } from '@nestjs/common';
import { Args, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import {
  CurrentUser,
  JwtAuthGuard,
  PermissionGuard,
  RateLimit,
  RateLimitGuard,
  RequirePermission,
  ValibotPipe,
} from '@switchboard/nestjs';
import { fixedWindow } from '@switchboard/ratelimit';
import { ChatService } from './chat.service.ts';
import { SendMessage, type SendMessageInput } from './inputs.ts';
import type { Switchboard } from './switchboard.ts';
import { SWITCHBOARD_APP } from './tokens.ts';

/** Messages a user may send per minute (all chats). */
export const SEND_LIMIT = fixedWindow({ limit: 30, windowMs: 60_000 });

@Resolver('Message')
@UseGuards(JwtAuthGuard, PermissionGuard)
export class MessageResolver {
  constructor(
    @Inject(ChatService) private readonly chats: ChatService,
    @Inject(SWITCHBOARD_APP) private readonly app: Switchboard,
  ) {}

  @Mutation('createChat')
  createChat(@Args('name') name: string, @CurrentUser('userId') userId: string) {
    return this.chats.createChat(userId, name);
  }

  @Mutation('addMember')
  @RequirePermission('chat:manage', { scope: 'chat:{args.chatId}' })
  addMember(@Args('chatId') chatId: string, @Args('username') username: string, @CurrentUser('userId') userId: string) {
    return this.chats.addMember(userId, chatId, username);
  }

  @Mutation('sendMessage')
  @UseGuards(RateLimitGuard)
  @RequirePermission('message:send', { scope: 'chat:{args.input.chatId}' })
  @RateLimit({ algorithm: SEND_LIMIT, key: 'user', prefix: 'send-message' })
  sendMessage(@Args('input', ValibotPipe(SendMessage)) input: SendMessageInput, @CurrentUser('userId') userId: string) {
    return this.chats.send(input.chatId, userId, input.content);
  }

  @Query('messages')
  @RequirePermission('message:read', { scope: 'chat:{args.chatId}' })
  messages(
    @Args('chatId') chatId: string,
    @Args('first') first?: number,
    @Args('after') after?: string,
    @Args('last') last?: number,
    @Args('before') before?: string,
  ) {
    return this.chats.messages(chatId, {
      ...(first === undefined || first === null ? {} : { first }),
      ...(after ? { after } : {}),
      ...(last === undefined || last === null ? {} : { last }),
      ...(before ? { before } : {}),
    });
  }

  /** Authenticated when the socket connects (graphqlWsAuth) and again by the guards here. */
  @Subscription('messageAdded', { resolve: (message: unknown) => message })
  @RequirePermission('message:read', { scope: 'chat:{args.chatId}' })
  messageAdded(@Args('chatId') chatId: string) {
    return this.app.messagesOf(chatId, AbortSignal.timeout(60 * 60_000));
  }
}
