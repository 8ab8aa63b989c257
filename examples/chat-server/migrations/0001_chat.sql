-- The chat domain. Ids are UUIDs made by the application (PostgreSQL 15 has no uuidv7()).
-- Tables owned by packages (auth sessions, rbac grants, outbox) come from their own migrations.

CREATE TABLE IF NOT EXISTS users (
  id             uuid PRIMARY KEY,
  username       text NOT NULL,
  email          text NOT NULL,
  password_hash  text NOT NULL,
  display_name   text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness: 'Alice' and 'alice' are one account.
CREATE UNIQUE INDEX IF NOT EXISTS users_username_key ON users (lower(username));
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (lower(email));

CREATE TABLE IF NOT EXISTS chats (
  id          uuid PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('direct', 'group')),
  title       text,
  owner_id    uuid NOT NULL REFERENCES users (id),
  -- The last sequence number handed out; bumped under this row's lock by each sendMessage.
  last_seq    bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS participants (
  chat_id        uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
  user_id        uuid NOT NULL REFERENCES users (id),
  role           text NOT NULL CHECK (role IN ('owner', 'admin', 'moderator', 'member')),
  joined_at      timestamptz NOT NULL DEFAULT now(),
  -- Read receipt: everything up to this sequence number has been read.
  last_read_seq  bigint NOT NULL DEFAULT 0,
  unread_count   integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
  PRIMARY KEY (chat_id, user_id)
);
-- "My chats", newest first: keyset over (created_at, chat_id) per user.
CREATE INDEX IF NOT EXISTS participants_by_user ON participants (user_id, joined_at DESC, chat_id DESC);

CREATE TABLE IF NOT EXISTS messages (
  id          uuid PRIMARY KEY,
  chat_id     uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
  -- Per-chat order of visibility: assigned in the sending transaction under the chat row lock.
  seq         bigint NOT NULL,
  sender_id   uuid NOT NULL REFERENCES users (id),
  content     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  edited_at   timestamptz,
  deleted_at  timestamptz,
  UNIQUE (chat_id, seq)
);
