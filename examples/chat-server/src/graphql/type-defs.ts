import { connectionTypeDefs, pageInfoTypeDefs } from '@switchboard/pagination/graphql';

/** The chat API (SDL first). Connections and PageInfo come from @switchboard/pagination. */
export const typeDefs = /* GraphQL */ `
  ${pageInfoTypeDefs}
  ${connectionTypeDefs('Chat')}
  ${connectionTypeDefs('Message')}

  type Query {
    "Answers 'ok' while the server accepts requests."
    health: String!
    me: User!
    chat(id: ID!): Chat!
    "The chats you take part in, newest first."
    chats(first: Int, after: String, last: Int, before: String): ChatConnection!
    "Oldest to newest: 'first' pages from the oldest message, 'last' from the newest."
    messages(chatId: ID!, first: Int, after: String, last: Int, before: String): MessageConnection!
    "Chats with unread messages."
    unreadCounts: [UnreadCount!]!
  }

  type Mutation {
    register(input: RegisterInput!): AuthPayload!
    login(input: LoginInput!): AuthPayload!
    "Rotates the refresh token: the one given is spent (presenting it again ends the session)."
    refreshToken(refreshToken: String!): AuthPayload!
    logout(refreshToken: String!): Boolean!
    createChat(input: CreateChatInput!): Chat!
    addParticipant(chatId: ID!, userId: ID!, role: ParticipantRole = MEMBER): Participant!
    removeParticipant(chatId: ID!, userId: ID!): Boolean!
    """
    Sends a message; the answer carries its cursor, to resume messageAdded with 'after'. Sent
    again with the same clientId, it answers the message already sent and sends nothing.
    """
    sendMessage(input: SendMessageInput!): Message!
    editMessage(id: ID!, content: String!): Message!
    deleteMessage(id: ID!): Boolean!
    "Marks every message of the chat read."
    markRead(chatId: ID!): UnreadCount!
    deleteChat(id: ID!): Boolean!
    "Tells the chat's subscribers you are typing."
    typing(chatId: ID!): Boolean!
  }

  type Subscription {
    """
    New messages of a chat. With 'after' (a message cursor), the messages after it are replayed
    from the database first, then new ones follow: nothing missed, nothing twice.
    """
    messageAdded(chatId: ID!, after: String): Message!
    "Edited and deleted messages of a chat."
    messageUpdated(chatId: ID!): Message!
    typing(chatId: ID!): TypingEvent!
  }

  input RegisterInput {
    username: String!
    email: String!
    password: String!
    displayName: String
  }

  input LoginInput {
    username: String!
    password: String!
  }

  input CreateChatInput {
    "Required for a group; a chat with one other participant and no title is a direct chat."
    title: String
    participantIds: [ID!]!
  }

  input SendMessageInput {
    chatId: ID!
    "Rich text: b, i, em, strong, code, pre, br, p and http(s)/mailto links are kept."
    content: String!
    """
    Your own id for this message (1-64 printable ASCII characters), unique per chat: a send
    retried after a lost answer returns the message instead of sending it twice.
    """
    clientId: ID
  }

  type AuthPayload {
    accessToken: String!
    refreshToken: String!
    user: User!
  }

  type User {
    id: ID!
    username: String!
    "Plain text (not HTML): escape it when rendering."
    displayName: String
  }

  enum ChatKind {
    DIRECT
    GROUP
  }

  enum ParticipantRole {
    OWNER
    ADMIN
    MODERATOR
    MEMBER
  }

  type Chat {
    id: ID!
    kind: ChatKind!
    "Plain text (not HTML): escape it when rendering."
    title: String
    owner: User!
    createdAt: String!
    participants: [Participant!]!
    "Messages after your read mark (markRead, or your own last message: sending marks the chat read up to it)."
    unreadCount: Int!
  }

  type Participant {
    user: User!
    role: ParticipantRole!
    lastReadSeq: Int!
  }

  type Message {
    id: ID!
    chatId: ID!
    "Position in the chat: the order in which messages became visible."
    seq: Int!
    "Sanitized HTML (the allow-list of @switchboard/validation's sanitizeRichText)."
    content: String!
    sender: User!
    createdAt: String!
    editedAt: String
    "Who last edited it: the sender, or a moderator."
    editedBy: User
    deleted: Boolean!
    "Usable as 'after' in messages and messageAdded."
    cursor: String
  }

  type UnreadCount {
    chatId: ID!
    count: Int!
  }

  type TypingEvent {
    chatId: ID!
    user: User!
  }
`;
