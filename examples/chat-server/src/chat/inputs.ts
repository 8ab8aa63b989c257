import {
  createUsernameSchema,
  displayNameSchema,
  emailSchema,
  messageContentSchema,
  passwordContextCheck,
  passwordSchema,
  uuidSchema,
} from '@switchboard/validation';
import * as v from 'valibot';

/** Every input the API takes, as valibot schemas from @switchboard/validation. */

const usernameSchema = createUsernameSchema();

export const registerInput = v.pipe(
  v.object({
    username: usernameSchema,
    email: emailSchema,
    password: passwordSchema({ blockedWords: ['switchboard'] }),
    displayName: v.nullish(displayNameSchema),
  }),
  passwordContextCheck({ password: 'password', context: ['username', 'email'], extraWords: ['switchboard'] }),
);

// Login takes what the user typed: no strength rules (they applied at registration), only bounds.
/** A username as typed, in the canonical form registration stores (NFKC, lowercase): `ａｌｉｃｅ` is `alice`. */
export const typedUsername = v.pipe(
  v.string(),
  v.transform((name: string) => name.normalize('NFKC').trim().toLowerCase()),
  v.maxLength(64, 'must be at most 64 characters'),
);

export const loginInput = v.object({
  username: typedUsername,
  password: v.pipe(v.string(), v.maxLength(1024, 'must be at most 1024 characters')),
});

export const createChatInput = v.object({
  title: v.nullish(v.pipe(displayNameSchema, v.maxLength(100, 'must be at most 100 characters'))),
  participantIds: v.pipe(
    v.array(uuidSchema),
    v.maxLength(100, 'at most 100 participants at creation'),
    v.transform((ids) => [...new Set(ids)]),
  ),
});

export const messageContent = messageContentSchema({ maxLength: 4000 });

/** A sender's own id for one message, so that a retried send is not sent twice (printable ASCII). */
export const clientIdSchema = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(64, 'must be at most 64 characters'),
  v.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
);

export const sendMessageInput = v.object({
  chatId: uuidSchema,
  content: messageContent,
  clientId: v.nullish(clientIdSchema),
});

/** `sendMessageInput` without its chat id, for an input whose id {@link sendMessageChatId} already read. */
export const sendMessageBody = v.object({
  content: messageContent,
  clientId: v.nullish(clientIdSchema),
});

// A send's chat id is read twice per request: by its per-chat rate-limit key, then by the send
// itself. Both get the same input object from graphql-js, so the id is parsed once per object.
const sendMessageChatIds = new WeakMap<object, string | null>();

/**
 * The chat id of a sendMessage input as the schemas read it (trimmed, lowercased), or null when
 * it is not a valid id; parsed once per input object.
 */
export function sendMessageChatId(input: unknown): string | null {
  if (typeof input !== 'object' || input === null) return null;
  let chatId = sendMessageChatIds.get(input);
  if (chatId === undefined) {
    const parsed = v.safeParse(uuidSchema, (input as { chatId?: unknown }).chatId);
    chatId = parsed.success ? parsed.output : null;
    sendMessageChatIds.set(input, chatId);
  }
  return chatId;
}

export const editMessageInput = v.object({ id: uuidSchema, content: messageContent });

export const idInput = uuidSchema;

/** A message's position in its chat (Message.seq): a whole number from 1. */
export const seqInput = v.pipe(v.number(), v.integer('must be a whole number'), v.minValue(1, 'must be at least 1'));

/** Consent settings: a field left out (or null) keeps its value. */
export const updateSettingsInput = v.object({
  requireInvitation: v.nullish(v.boolean()),
});
