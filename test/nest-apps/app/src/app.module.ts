import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { createAuth, generateSigningKey } from '@switchboard/auth';
import { JwtAuthGuard, SwitchboardModule } from '@switchboard/nestjs';
import { createRbac } from '@switchboard/rbac';
import { ChatController } from './chat.controller.js';
import { ChatService } from './chat.service.js';

@Module({
  imports: [
    SwitchboardModule.forRootAsync({
      useFactory: async () => ({
        auth: await createAuth({
          issuer: 'https://fixture.test',
          audience: 'chat',
          keys: [await generateSigningKey()],
        }),
        rbac: await createRbac({ roles: { member: { permissions: ['message:send'] } } }),
      }),
    }),
  ],
  controllers: [ChatController],
  providers: [ChatService, { provide: APP_GUARD, useClass: JwtAuthGuard }],
})
export class AppModule {}
