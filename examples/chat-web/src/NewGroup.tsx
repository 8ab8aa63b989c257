import { type FormEvent, useState } from 'react';
import { ApiError, describeError } from './graphql.ts';
import type { Session } from './session.ts';
import { userIdOf } from './users.ts';

/** Creates a group: a title and the usernames to invite (they accept from their invitations). */
export function NewGroup({ session, onCreated }: { session: Session; onCreated: (chatId: string) => Promise<void> }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [titleProblem, setTitleProblem] = useState<string | null>(null);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const title = String(data.get('title') ?? '');
    const usernames = String(data.get('people') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    setProblem(null);
    setTitleProblem(null);
    try {
      const ids: string[] = [];
      for (const username of usernames) ids.push(await userIdOf(session, username));
      const created = await session.call<{ createChat: { id: string } }>(
        'mutation ($input: CreateChatInput!) { createChat(input: $input) { id } }',
        { input: { title, participantIds: ids } },
      );
      form.reset();
      await onCreated(created.createChat.id);
    } catch (failure) {
      if (failure instanceof ApiError && failure.fields.title) setTitleProblem(failure.fields.title);
      else setProblem(describeError(failure));
    }
  };

  return (
    <details className="new-group">
      <summary>New group</summary>
      <form onSubmit={(event) => void create(event)}>
        <label htmlFor="group-title">Group name</label>
        <input
          id="group-title"
          name="title"
          required
          autoComplete="off"
          aria-describedby="group-title-error"
          aria-invalid={titleProblem ? true : undefined}
        />
        <span id="group-title-error" className="field-error" role={titleProblem ? 'alert' : undefined}>
          {titleProblem ?? ''}
        </span>
        <label htmlFor="group-people">People to invite (usernames)</label>
        <input id="group-people" name="people" autoComplete="off" placeholder="ana, bo" />
        <button type="submit">Create group</button>
        {problem && (
          <p role="alert" className="notice">
            {problem}
          </p>
        )}
      </form>
    </details>
  );
}
