-- The four chat roles move from code into the rbac policy store (@switchboard/rbac's
-- switchboard_rbac_roles, created by its own migrations, applied before the application's): from
-- now on an operator may change what a moderator may do at runtime (rbac.updateRole; every
-- instance follows within a second through the Redis bus). Changes to these defaults ship as new migrations (an update
-- of the row, a bump of the policy version and an audit record, as here), never as edits of
-- this file. A role already stored under one of these names (defined at runtime) is kept.
WITH defaults (name, definition) AS (
  VALUES
    ('member', '{"permissions": ["chat:read", "message:read", "message:send", "typing:send",
       {"permission": "message:edit", "condition": "ownMessage"},
       {"permission": "message:delete", "condition": "ownMessage"}], "inherits": [], "deny": []}'::jsonb),
    ('moderator', '{"permissions": ["message:edit", "message:delete"], "inherits": ["member"], "deny": []}'::jsonb),
    ('admin', '{"permissions": ["participant:add", "participant:remove"], "inherits": ["moderator"], "deny": []}'::jsonb),
    ('owner', '{"permissions": ["participant:promote", "chat:delete", "chat:audit"], "inherits": ["admin"], "deny": []}'::jsonb)
), added AS (
  INSERT INTO switchboard_rbac_roles (name, definition, version)
  SELECT name, definition, 1 FROM defaults
  ON CONFLICT (name) DO NOTHING
  RETURNING name, definition
), audited AS (
  INSERT INTO switchboard_rbac_audit (actor, action, role, after)
  SELECT 'migration:0007_chat_roles_in_policy_store', 'role.define', name, definition FROM added
)
-- Instances running when this lands see the new version at their next poll (5 s): a migration
-- publishes nothing on the bus.
UPDATE switchboard_rbac_policy SET version = version + 1 WHERE EXISTS (SELECT 1 FROM added);
