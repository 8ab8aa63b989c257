import { Body, Controller, Get, Param, Post, UseGuards } from '@nestjs/common';
import type { Principal } from '@switchboard/auth';
import {
  CurrentUser,
  PermissionGuard,
  Public,
  RateLimit,
  RateLimitGuard,
  RequirePermission,
  ValibotPipe,
} from '@switchboard/nestjs';
import { fixedWindow } from '@switchboard/ratelimit';
import * as v from 'valibot';
// A value import: emitDecoratorMetadata names the class in the constructor's metadata.
import { ChatService } from './chat.service.js';

const sendSchema = v.object({ content: v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty')) });

// JwtAuthGuard is the application's guard (APP_GUARD); these run after it.
@Controller()
@UseGuards(PermissionGuard, RateLimitGuard)
export class ChatController {
  constructor(private readonly chat: ChatService) {}

  @Public()
  @Get('health')
  health() {
    return { ok: true };
  }

  @Get('me')
  me(@CurrentUser() user: Principal) {
    return { userId: user.userId };
  }

  @Post('chats/:chatId/messages')
  @RequirePermission('message:send', { scope: 'chat:{params.chatId}' })
  @RateLimit({ algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }), key: 'user' })
  send(
    @Param('chatId') chatId: string,
    @Body(ValibotPipe(sendSchema)) body: v.InferOutput<typeof sendSchema>,
    @CurrentUser('userId') userId: string,
  ) {
    return this.chat.send(chatId, userId, body.content);
  }
}
