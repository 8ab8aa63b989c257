/** What a chat is called, as text: its title, else the other participants' names. */
export function chatName(
  chat: {
    title: string | null;
    participants: { user: { id: string; username: string; displayName: string | null } }[];
  },
  myId: string | undefined,
): string {
  if (chat.title) return chat.title;
  const others = chat.participants.filter((p) => p.user.id !== myId).map((p) => p.user.displayName ?? p.user.username);
  return others.join(', ') || 'Just you';
}
