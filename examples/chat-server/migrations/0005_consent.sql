-- Consent: nobody is put in a chat against their will (blocking, invitations).

-- A participant is 'active' (a member: rbac grant, unread count, in `chats`) or 'invited' (a
-- pending invitation: no grant, sees only the invitation). The default keeps every existing row,
-- and every writer that does not name the column (tools/load's seeding), active. For an invited
-- row, `joined_at` is when the invitation was made and `role` the role accepting gives.
ALTER TABLE participants ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'active'
  CHECK (status IN ('active', 'invited'));
ALTER TABLE participants ADD COLUMN IF NOT EXISTS invited_by uuid REFERENCES users (id);
-- "My invitations", newest first.
CREATE INDEX IF NOT EXISTS participants_invited ON participants (user_id, joined_at DESC)
  WHERE status = 'invited';

-- Per-user settings; no row means every default (require_invitation false: anyone may add you).
CREATE TABLE IF NOT EXISTS user_settings (
  user_id             uuid PRIMARY KEY REFERENCES users (id),
  require_invitation  boolean NOT NULL DEFAULT false,
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- blocker_id blocked blocked_id: blocked_id can neither open a direct chat with blocker_id nor add
-- them to a group. Looked up by the primary key (blocker_id, blocked_id) both ways it is read.
CREATE TABLE IF NOT EXISTS user_blocks (
  blocker_id  uuid NOT NULL REFERENCES users (id),
  blocked_id  uuid NOT NULL REFERENCES users (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (blocker_id, blocked_id),
  CHECK (blocker_id <> blocked_id)
);

-- Who left a chat, was removed from it or declined an invitation to it: they come back only by
-- accepting an invitation, whatever their settings. Cleared when they accept.
CREATE TABLE IF NOT EXISTS former_participants (
  chat_id  uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
  user_id  uuid NOT NULL REFERENCES users (id),
  left_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chat_id, user_id)
);
