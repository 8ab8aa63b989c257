import { Body, Controller, Get, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  CurrentUser,
  JwtAuthGuard,
  PermissionGuard,
  RateLimit,
  RateLimitGuard,
  RequirePermission,
  ValibotPipe,
} from '@switchboard/nestjs';
import * as v from 'valibot';
import { ChatService } from './chat.service.ts';
import { NewMessage } from './inputs.ts';
import { SEND_LIMIT } from './message.resolver.ts';

/** The same operations over REST: 201 on a sent message, the same guards and the same budget. */
@Controller('chats/:chatId/messages')
@UseGuards(JwtAuthGuard, PermissionGuard, RateLimitGuard)
export class MessagesController {
  constructor(@Inject(ChatService) private readonly chats: ChatService) {}

  @Post()
  @RequirePermission('message:send', { scope: 'chat:{params.chatId}' })
  @RateLimit({ algorithm: SEND_LIMIT, key: 'user', prefix: 'send-message' })
  send(
    @Param('chatId') chatId: string,
    @Body(ValibotPipe(NewMessage)) input: v.InferOutput<typeof NewMessage>,
    @CurrentUser('userId') userId: string,
  ) {
    return this.chats.send(chatId, userId, input.content);
  }

  @Get()
  @RequirePermission('message:read', { scope: 'chat:{params.chatId}' })
  list(@Param('chatId') chatId: string, @Query('after') after?: string) {
    return this.chats.messages(chatId, after ? { first: 20, after } : { first: 20 });
  }
}
