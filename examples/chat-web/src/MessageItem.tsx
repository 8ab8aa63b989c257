import { type FormEvent, useState } from 'react';
import { describeError } from './graphql.ts';
import type { ChatMessage } from './useMessages.ts';

/** One message: the sender's name as text, the server's sanitized HTML, and for your own messages edit and delete. */
export function MessageItem(props: {
  message: ChatMessage;
  mine: boolean;
  onEdit: (id: string, content: string) => Promise<void>;
  onDelete: (id: string) => Promise<void>;
  onDismiss: (clientId: string) => void;
}) {
  const { message, mine, onEdit, onDelete, onDismiss } = props;
  const [editing, setEditing] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const editable = mine && !message.pending && !message.deleted;

  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const content = String(new FormData(event.currentTarget).get('content') ?? '');
    setProblem(null);
    try {
      await onEdit(message.id, content);
      setEditing(false);
    } catch (failure) {
      setProblem(describeError(failure));
    }
  };

  const remove = async () => {
    setProblem(null);
    try {
      await onDelete(message.id);
    } catch (failure) {
      setProblem(describeError(failure));
    }
  };

  return (
    <li className={message.pending ? 'pending' : undefined} data-seq={message.pending ? undefined : message.seq}>
      <span className="sender">{message.sender.displayName ?? message.sender.username}</span>
      {message.deleted ? (
        <em className="deleted">message deleted</em>
      ) : editing ? (
        <form className="edit" onSubmit={(event) => void save(event)}>
          <label htmlFor={`edit-${message.id}`} className="sr-only">
            Edit message
          </label>
          {/* The box holds what the message box takes: text, with the server's allowed markup. */}
          <textarea
            id={`edit-${message.id}`}
            name="content"
            rows={2}
            maxLength={4000}
            required
            defaultValue={message.content}
            // biome-ignore lint/a11y/noAutofocus: the person just asked to edit this message
            autoFocus
            onKeyDown={(event) => {
              if (event.key === 'Escape') setEditing(false);
            }}
          />
          <button type="submit">Save</button>
          <button type="button" className="link" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        // The server's sanitized HTML is the only HTML rendered (its allow-list; names are text).
        // biome-ignore lint/security/noDangerouslySetInnerHtml: content is sanitized by the server (@switchboard/validation), or escaped locally while pending
        <span className="content" dangerouslySetInnerHTML={{ __html: message.content }} />
      )}
      {message.editedAt && !message.deleted && !editing && <span className="edited"> (edited)</span>}
      {editable && !editing && (
        <span className="actions">
          <button type="button" className="link" onClick={() => setEditing(true)}>
            Edit<span className="sr-only"> message</span>
          </button>
          <button type="button" className="link" onClick={() => void remove()}>
            Delete<span className="sr-only"> message</span>
          </button>
        </span>
      )}
      {problem && (
        <span role="alert" className="failed">
          {' '}
          {problem}
        </span>
      )}
      {message.pending?.failed && (
        <span className="failed">
          {' '}
          not sent: {message.pending.failed}{' '}
          <button type="button" onClick={() => onDismiss(message.pending?.clientId ?? '')}>
            Dismiss
          </button>
        </span>
      )}
    </li>
  );
}
