/** A small Nest REST app using every piece of the package, for the tests on both platforms. */
import 'reflect-metadata';
import { Body, Controller, Get, Inject, Module, Param, Post, UseGuards } from '@nestjs/common';
import type { Principal } from '@switchboard/auth';
import { fixedWindow } from '@switchboard/ratelimit';
import type { Rbac } from '@switchboard/rbac';
import * as v from 'valibot';
import {
  CurrentUser,
  InjectRbac,
  JwtAuthGuard,
  PermissionGuard,
  Public,
  RateLimit,
  RateLimitGuard,
  RequirePermission,
  ValibotPipe,
} from '../src/index.ts';

export const sendSchema = v.object({ content: v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty')) });

@Controller()
@UseGuards(JwtAuthGuard, PermissionGuard, RateLimitGuard)
export class ChatController {
  constructor(@InjectRbac() private readonly rbac: Rbac) {}

  @Get('me')
  me(@CurrentUser() user: Principal) {
    return { userId: user.userId };
  }

  @Public()
  @Get('open')
  open(@CurrentUser('userId') userId: string | null) {
    return { userId };
  }

  @Post('chats/:chatId/messages')
  @RequirePermission('message:send', { scope: 'chat:{params.chatId}' })
  @RateLimit({ algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }), key: 'user' })
  send(@Param('chatId') chatId: string, @Body(ValibotPipe(sendSchema)) input: v.InferOutput<typeof sendSchema>) {
    return { chatId, content: input.content };
  }

  @Post('messages')
  @RequirePermission('message:send', { scope: 'chat:{body.chatId}' })
  sendByBody(@Body() body: { chatId: string }) {
    return { chatId: body.chatId };
  }

  // Open to anonymous callers for authentication, but still behind a permission: a 401, not a pass.
  @Public()
  @Get('chats/:chatId/preview')
  @RequirePermission('chat:read', { scope: 'chat:{params.chatId}' })
  preview(@Param('chatId') chatId: string) {
    return { chatId };
  }

  @Public()
  @Get('ping')
  @RateLimit({ algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }), key: 'ip' })
  ping() {
    return { pong: true };
  }

  @Get('chats/:chatId/members')
  @RequirePermission('chat:read', { scope: 'chat:{params.chatId}' })
  async members(@Param('chatId') chatId: string) {
    // An rbac error thrown in the handler itself: the module's exception filter maps it.
    await this.rbac.assert('nobody', 'chat:read', { scope: `chat:${chatId}` });
    return [];
  }
}

@Module({ controllers: [ChatController] })
export class ChatModule {}

export { Inject };
