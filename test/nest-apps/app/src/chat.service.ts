import { Injectable } from '@nestjs/common';
import { InjectRbac } from '@switchboard/nestjs';
import type { Rbac } from '@switchboard/rbac';

// Injected into the controller by its type: what emitDecoratorMetadata (tsc, swc) makes work.
@Injectable()
export class ChatService {
  private readonly sent: { chatId: string; senderId: string; content: string }[] = [];

  constructor(@InjectRbac() private readonly rbac: Rbac) {}

  async join(userId: string, chatId: string): Promise<void> {
    await this.rbac.grant(userId, 'member', `chat:${chatId}`);
  }

  send(chatId: string, senderId: string, content: string) {
    const message = { chatId, senderId, content };
    this.sent.push(message);
    return message;
  }
}
