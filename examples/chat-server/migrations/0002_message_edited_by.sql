-- Who last edited a message: a moderator may edit anyone's message, and readers must see that
-- the words are not the sender's.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS edited_by uuid REFERENCES users (id);
