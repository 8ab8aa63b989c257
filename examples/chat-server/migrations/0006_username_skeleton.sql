-- Usernames are unique by how they look, not only by their letters: `rnallory` may not join
-- next to `mallory`. The key is the UTS #39 confusable skeleton (@switchboard/validation's
-- confusableSkeleton, which the server stores with every new user). Over the username alphabet
-- ([a-z0-9_.-] after NFKC and lowercasing) that skeleton is four substitutions, written here as
-- a SQL function for the backfill; test/username-skeleton.int.test.ts checks it agrees with
-- confusableSkeleton on every character of that alphabet.
CREATE OR REPLACE FUNCTION username_skeleton(username text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT replace(replace(replace(replace(lower(username), 'm', 'rn'), 'w', 'vv'), '0', 'o'), '1', 'l') $$;

ALTER TABLE users ADD COLUMN IF NOT EXISTS username_skeleton text;

-- Accounts that already look alike are kept: the oldest of each group holds the skeleton, the
-- others keep theirs unset (they still log in as before) and are listed in username_collisions
-- for an operator to look at. Nobody new can take any of those looks.
CREATE TABLE IF NOT EXISTS username_collisions (
  user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  skeleton     text NOT NULL,
  kept_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  found_at     timestamptz NOT NULL DEFAULT now()
);

WITH ranked AS (
  SELECT id, username_skeleton(username) AS skeleton,
         first_value(id) OVER same_look AS kept,
         row_number() OVER same_look AS place
    FROM users
  WINDOW same_look AS (PARTITION BY username_skeleton(username) ORDER BY created_at, id)
), collided AS (
  INSERT INTO username_collisions (user_id, skeleton, kept_user_id)
  SELECT id, skeleton, kept FROM ranked WHERE place > 1
  ON CONFLICT (user_id) DO NOTHING
)
UPDATE users SET username_skeleton = ranked.skeleton
  FROM ranked
 WHERE users.id = ranked.id AND ranked.place = 1;

CREATE UNIQUE INDEX IF NOT EXISTS users_username_skeleton_key ON users (username_skeleton);

DO $$
DECLARE collisions bigint;
BEGIN
  SELECT count(*) INTO collisions FROM username_collisions;
  IF collisions > 0 THEN
    RAISE WARNING '% existing account(s) have a username that looks like an older one; kept, listed in username_collisions', collisions;
  END IF;
END $$;
