// The requests simulated users make (fanout: send only; mixed: the whole user model).

/** Every operation a client worker sends; the index is what `ActResult.operation` records. */
export const OPERATION_NAMES = ['send', 'chats', 'history', 'older', 'typing', 'markRead', 'refresh'] as const;
export type OperationName = (typeof OPERATION_NAMES)[number];

/** A user's visit: the chat list, a chat's newest and older pages, two messages typed and sent. */
const VISIT: readonly OperationName[] = ['chats', 'history', 'older', 'typing', 'send', 'markRead', 'typing', 'send'];

/**
 * The mixed user model: each user takes the next step of this cycle (starting at a random
 * place) every `users / rate` seconds. Per 20 steps: 4 sends, each after a `typing`, 4 read
 * marks, 3 newest pages of a chat (each switching to the user's next chat), 2 older pages, 2
 * chat lists, 1 token refresh. After Mattermost's load-test agent: a user opens the app, looks
 * at the channel list, switches channels, scrolls back, types, posts, reads.
 */
export const MIXED_CYCLE: readonly OperationName[] = [...VISIT, 'history', 'markRead', ...VISIT, 'refresh', 'markRead'];

export const PAGE_SIZE = 20;

export const DOCUMENTS: Record<OperationName, string> = {
  send: /* GraphQL */ `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id seq createdAt } }`,
  chats: /* GraphQL */ `query Chats($first: Int) {
    chats(first: $first) { edges { cursor node { id title unreadCount } } pageInfo { hasNextPage endCursor } }
  }`,
  history: /* GraphQL */ `query History($chatId: ID!, $last: Int) {
    messages(chatId: $chatId, last: $last) {
      edges { cursor node { id seq content createdAt sender { id username } } }
      pageInfo { hasPreviousPage startCursor }
    }
  }`,
  older: /* GraphQL */ `query Older($chatId: ID!, $last: Int, $before: String) {
    messages(chatId: $chatId, last: $last, before: $before) {
      edges { cursor node { id seq content createdAt sender { id username } } }
      pageInfo { hasPreviousPage startCursor }
    }
  }`,
  typing: /* GraphQL */ `mutation Typing($chatId: ID!) { typing(chatId: $chatId) }`,
  markRead: /* GraphQL */ `mutation MarkRead($chatId: ID!) { markRead(chatId: $chatId) { chatId count } }`,
  refresh: /* GraphQL */ `mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken }
  }`,
};
