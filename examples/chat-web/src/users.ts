import type { Session } from './session.ts';

/**
 * The id of the user with this username (as typed: case and width do not matter). No such user
 * is an error whose message can be shown as it is.
 */
export async function userIdOf(session: Session, username: string): Promise<string> {
  const found = await session.call<{ userByUsername: { id: string } | null }>(
    'query ($u: String!) { userByUsername(username: $u) { id } }',
    { u: username },
  );
  if (!found.userByUsername) throw new Error(`No user named ${username}.`);
  return found.userByUsername.id;
}
