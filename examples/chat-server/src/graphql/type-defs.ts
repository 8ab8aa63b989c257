import { connectionTypeDefs, pageInfoTypeDefs } from '@switchboard/pagination/graphql';

/** The chat API (SDL first). Connections and PageInfo come from @switchboard/pagination. */
export const typeDefs = /* GraphQL */ `
  ${pageInfoTypeDefs}
  ${connectionTypeDefs('Chat')}
  ${connectionTypeDefs('Message')}
  ${connectionTypeDefs('AuditEntry')}

  type Query {
    "Answers 'ok' while the server accepts requests."
    health: String!
    me: User!
    "The user with this username (case and width do not matter), or null: to start a chat or invite."
    userByUsername(username: String!): User
    chat(id: ID!): Chat!
    "The chats you take part in, newest first."
    chats(first: Int, after: String, last: Int, before: String): ChatConnection!
    "Oldest to newest: 'first' pages from the oldest message, 'last' from the newest."
    messages(chatId: ID!, first: Int, after: String, last: Int, before: String): MessageConnection!
    "Chats with unread messages."
    unreadCounts: [UnreadCount!]!
    "The users you blocked, in the order you blocked them."
    blockedUsers: [User!]!
    "Your pending invitations, newest first (at most 100)."
    invitations: [Invitation!]!
    settings: Settings!
    "Your signed-in sessions (one per login), newest first; 'current' is the one asking."
    sessions: [Session!]!
    """
    The chat's audit trail, newest first: every grant and revoke of its roles (who, when, in
    which request) and what platform admins did there. For the chat's owner (and platform
    admins); 'first' at most 100 (default 20).
    """
    chatAuditLog(chatId: ID!, first: Int, after: String): AuditEntryConnection!
  }

  "One entry of a chat's audit trail."
  type AuditEntry {
    id: ID!
    at: String!
    "Who did it: a user id, or 'migration:…' / 'cli:…' for the system; null when not recorded."
    actor: String
    "grant, revoke, or a platform admin's action (chat.read, messages.read, message.delete, …)."
    action: String!
    "The role granted or revoked (platform-admin for an admin's action)."
    role: String!
    "Whose grant it was, or the participant a platform admin removed."
    userId: ID
    "The message a platform admin edited or deleted."
    messageId: ID
    "The request it was made in (the id its log lines carry)."
    requestId: String
  }

  type Mutation {
    register(input: RegisterInput!): AuthPayload!
    login(input: LoginInput!): AuthPayload!
    "Rotates the refresh token: the one given is spent (presenting it again ends the session)."
    refreshToken(refreshToken: String!): AuthPayload!
    logout(refreshToken: String!): Boolean!
    """
    Signs one of your sessions out, on every instance: its access tokens are refused
    (UNAUTHENTICATED, reason SESSION_REVOKED), its refresh token no longer works and its open
    subscriptions end. An id that is not one of your live sessions is NOT_FOUND.
    """
    revokeSession(id: ID!): Boolean!
    "Signs every one of your sessions out (this one included) and forgets your device tokens."
    revokeAllSessions: Boolean!
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
    """
    Marks the chat read up to upToSeq (a message's seq: the last one you have seen), or to its
    last message without it. The mark never moves back; the answer is what is still unread.
    """
    markRead(chatId: ID!, upToSeq: Int): UnreadCount!
    deleteChat(id: ID!): Boolean!
    "Tells the chat's subscribers you are typing."
    typing(chatId: ID!): Boolean!
    """
    They can no longer open a direct chat with you nor add you to a group (they are told what an
    unknown user id gets). Chats you already share stay as they are. Idempotent.
    """
    blockUser(userId: ID!): Boolean!
    "Idempotent."
    unblockUser(userId: ID!): Boolean!
    "Changes the settings the input names; answers all of them."
    updateSettings(input: UpdateSettingsInput!): Settings!
    "Makes you a member, with the invitation's role."
    acceptInvitation(chatId: ID!): Chat!
    "Drops the invitation; only a new invitation brings you to the chat."
    declineInvitation(chatId: ID!): Boolean!
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
    """
    What happens to you, across all your chats: invitations, chats joined and left, unread
    counts. Only your own events; missed while not subscribed. With 'ready: true' the first
    event is READY, sent once the feed is live: read invitations, chats and unreadCounts when it
    arrives, and nothing falls between that read and the feed.
    """
    userEvents(ready: Boolean = false): UserEvent!
  }

  input RegisterInput {
    username: String!
    email: String!
    password: String!
    """
    Plain text: markup tags are refused (BAD_USER_INPUT), and so is a name that looks like another
    user's username. Usernames are unique by how they look (rnallory cannot join next to mallory).
    """
    displayName: String
  }

  input LoginInput {
    username: String!
    password: String!
    """
    The deviceToken a previous register or login on this device answered. With it, wrong guesses
    by others do not lock you out; five wrong passwords with it revoke it.
    """
    deviceToken: String
  }

  input CreateChatInput {
    """
    Required for a group; a chat with one other participant and no title is a direct chat. Plain
    text: markup tags are refused (BAD_USER_INPUT).
    """
    title: String
    participantIds: [ID!]!
  }

  input UpdateSettingsInput {
    "Being put in a group makes you INVITED rather than a member (default false). Left out or null: unchanged."
    requireInvitation: Boolean
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
    "Keep it on this device and send it with your next logins (LoginInput.deviceToken). Null on refresh."
    deviceToken: String
    user: User!
  }

  "A signed-in session: one login, kept alive by refreshing."
  type Session {
    id: ID!
    createdAt: String!
    "The last login or refresh."
    lastUsedAt: String!
    "When its refresh token expires unless refreshed."
    expiresAt: String!
    "As sent at the last login or refresh."
    userAgent: String
    ip: String
    "The session of the access token asking."
    current: Boolean!
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

  """
  A chat. Seen through an invitation, or in a userEvents event once you are no longer in it, only
  id, kind, title, owner and createdAt show: participants is empty and unreadCount 0.
  """
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

  enum ParticipantStatus {
    "A member."
    ACTIVE
    "Invited, not yet a member: no role in the chat, sees nothing of it but the invitation."
    INVITED
  }

  type Participant {
    user: User!
    "For an invited participant, the role accepting gives."
    role: ParticipantRole!
    status: ParticipantStatus!
    lastReadSeq: Int!
  }

  type Settings {
    "Being put in a group (createChat, addParticipant) makes you INVITED rather than a member."
    requireInvitation: Boolean!
  }

  type Invitation {
    "A preview: id, kind, title, owner and createdAt (no participants, no messages)."
    chat: Chat!
    invitedBy: User!
    "The role accepting gives."
    role: ParticipantRole!
    createdAt: String!
  }

  enum UserEventType {
    "Someone invited you to a group (invitation is set)."
    INVITED
    "You are now a member: added, you created the chat, or you accepted an invitation."
    ADDED_TO_CHAT
    "You are no longer in the chat nor invited: removed, left, declined, withdrawn, or deleted."
    REMOVED_FROM_CHAT
    "A chat you are in changed for you: your role changed, or an invitation you sent was answered."
    CHAT_UPDATED
    "Your unread count in one chat changed (unreadCount is set; chat is null)."
    UNREAD_CHANGED
    "Only with userEvents(ready: true), only first: the feed is live (chat, invitation and unreadCount are null)."
    READY
  }

  type UserEvent {
    type: UserEventType!
    chat: Chat
    invitation: Invitation
    unreadCount: UnreadCount
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
