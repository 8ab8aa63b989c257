import { type FormEvent, useState } from 'react';
import { ApiError, describeError } from './graphql.ts';
import type { Session } from './session.ts';

export function AuthForm({ session }: { session: Session }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? '');
    setBusy(true);
    setError(null);
    setFields({});
    try {
      if (mode === 'register')
        await session.register({ username: value('username'), email: value('email'), password: value('password') });
      else await session.login({ username: value('username'), password: value('password') });
    } catch (failure) {
      if (failure instanceof ApiError && Object.keys(failure.fields).length > 0) setFields(failure.fields);
      else setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  const field = (name: string, label: string, type: string, autoComplete: string) => (
    <p className="field">
      <label htmlFor={name}>{label}</label>
      <input
        id={name}
        name={name}
        type={type}
        autoComplete={autoComplete}
        required
        aria-describedby={`${name}-error`}
        aria-invalid={fields[name] ? true : undefined}
      />
      <span id={`${name}-error`} className="field-error" role={fields[name] ? 'alert' : undefined}>
        {fields[name] ?? ''}
      </span>
    </p>
  );

  return (
    <form onSubmit={(event) => void submit(event)} aria-labelledby="auth-title">
      <h1 id="auth-title">{mode === 'login' ? 'Sign in' : 'Create an account'}</h1>
      {field('username', 'Username', 'text', 'username')}
      {mode === 'register' && field('email', 'Email', 'email', 'email')}
      {field('password', 'Password', 'password', mode === 'login' ? 'current-password' : 'new-password')}
      {error && (
        <p role="alert" className="notice">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {mode === 'login' ? 'Sign in' : 'Create account'}
      </button>
      <button type="button" className="link" onClick={() => setMode(mode === 'login' ? 'register' : 'login')}>
        {mode === 'login' ? 'New here? Create an account' : 'Have an account? Sign in'}
      </button>
    </form>
  );
}
