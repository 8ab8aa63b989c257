import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Connection } from '@switchboard/pagination';
import { withTransaction } from '@switchboard/tx';
import type { Message, Switchboard } from './switchboard.ts';
import { SWITCHBOARD_APP } from './tokens.ts';

interface MessageRow {
  id: string;
  chat_id: string;
  sender_id: string;
  content: string;
  created_at: Date;
}

const toMessage = (row: MessageRow): Message => ({
  id: row.id,
  chatId: row.chat_id,
  senderId: row.sender_id,
  content: row.content,
  createdAt: row.created_at.toISOString(),
});

/** Chats and messages; who may do what is checked by the guards before these run. */
@Injectable()
export class ChatService {
  constructor(@Inject(SWITCHBOARD_APP) private readonly app: Switchboard) {}

  async createChat(ownerId: string, name: string): Promise<{ id: string; name: string }> {
    const { rows } = await this.app.pool.query<{ id: string }>(
      'INSERT INTO nest_chats (name) VALUES ($1) RETURNING id',
      [name],
    );
    const id = (rows[0] as { id: string }).id;
    await this.app.rbac.grant(ownerId, 'owner', `chat:${id}`, { actor: ownerId });
    return { id, name };
  }

  async addMember(actorId: string, chatId: string, username: string): Promise<boolean> {
    const { rows } = await this.app.pool.query<{ id: string }>('SELECT id FROM nest_users WHERE username = $1', [
      username,
    ]);
    const user = rows[0];
    if (!user) throw new NotFoundException(`no user ${username}`);
    await this.app.rbac.grant(user.id, 'member', `chat:${chatId}`, { actor: actorId });
    return true;
  }

  /** One transaction: the message and its outbox event commit together, or neither does. */
  async send(chatId: string, senderId: string, content: string): Promise<Message> {
    const message = await withTransaction(
      this.app.pool,
      async (tx) => {
        const { rows } = await tx.query<MessageRow>(
          'INSERT INTO nest_messages (chat_id, sender_id, content) VALUES ($1, $2, $3) RETURNING *',
          [chatId, senderId, content],
        );
        const sent = toMessage(rows[0] as MessageRow);
        await this.app.outbox.enqueue(tx, { topic: 'message.created', key: `chat:${chatId}`, payload: sent });
        return sent;
      },
      { retries: 3 },
    );
    this.app.log.info({ chatId, messageId: message.id }, 'message sent');
    return message;
  }

  async messages(
    chatId: string,
    args: { first?: number; after?: string; last?: number; before?: string },
  ): Promise<Connection<Message>> {
    const page = await this.app.paginator.fromPostgres<MessageRow>(
      this.app.pool,
      { table: 'nest_messages', where: 'chat_id = $1', params: [chatId] },
      args,
    );
    return { ...page, edges: page.edges.map((edge) => ({ ...edge, node: toMessage(edge.node) })) };
  }
}
