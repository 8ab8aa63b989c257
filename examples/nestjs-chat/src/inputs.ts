import { messageContentSchema, passwordSchema, usernameSchema, uuidSchema } from '@switchboard/validation';
import * as v from 'valibot';

export const Credentials = v.object({ username: usernameSchema, password: v.pipe(v.string(), v.minLength(1)) });
export const Registration = v.object({ username: usernameSchema, password: passwordSchema() });
export const SendMessage = v.object({ chatId: uuidSchema, content: messageContentSchema() });
export const NewMessage = v.object({ content: messageContentSchema() });
export type SendMessageInput = v.InferOutput<typeof SendMessage>;
