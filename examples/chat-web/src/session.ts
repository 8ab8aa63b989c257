/**
 * The signed-in session. The access token lives in memory only. The refresh token lives in
 * sessionStorage: it survives a reload of this tab and is gone with the tab. A script running in
 * the page (an XSS) could read it, as it could call the API with the in-memory token: the
 * defences are upstream — the server's Content-Security-Policy (scripts from this origin only,
 * no inline script), message HTML sanitized by the server, names rendered as text — and
 * downstream: refresh tokens rotate, and a stolen one used after its owner refreshed ends the
 * session (OAuth 2.0 for Browser-Based Apps, "refresh token rotation").
 */
import { ApiError, postGraphQL } from './graphql.ts';

export interface User {
  id: string;
  username: string;
  displayName: string | null;
}

interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  user: User;
}

const AUTH_FIELDS = 'accessToken refreshToken user { id username displayName }';
const REFRESH_KEY = 'switchboard.refreshToken';
/**
 * Refresh this long before the access token expires (at most a quarter of its lifetime): a
 * request never leaves with a dying token.
 */
const REFRESH_AHEAD_MS = 10_000;

export type SessionListener = (state: { user: User | null; expired: boolean }) => void;

export class Session {
  private accessToken: string | null = null;
  private accessRenewAt = 0;
  private user: User | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly listeners = new Set<SessionListener>();
  expired = false;

  get current(): User | null {
    return this.user;
  }

  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async register(input: { username: string; email: string; password: string }): Promise<void> {
    const data = await postGraphQL<{ register: AuthPayload }>(
      `mutation ($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`,
      { input },
    );
    this.signedIn(data.register);
  }

  async login(input: { username: string; password: string }): Promise<void> {
    const data = await postGraphQL<{ login: AuthPayload }>(
      `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`,
      { input },
    );
    this.signedIn(data.login);
  }

  /** Resumes the tab's session after a reload, from its refresh token; false when there is none. */
  async resume(): Promise<boolean> {
    if (!sessionStorage.getItem(REFRESH_KEY)) return false;
    try {
      await this.refresh();
      return this.user !== null;
    } catch {
      return false;
    }
  }

  async logout(): Promise<void> {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    this.clear(false);
    if (refreshToken)
      await postGraphQL('mutation ($t: String!) { logout(refreshToken: $t) }', { t: refreshToken }).catch(() => {});
  }

  /** From when `token()` refreshes the access token held (ms since the epoch; 0 when none is held). */
  get tokenRenewAt(): number {
    return this.accessRenewAt;
  }

  /** A valid access token: refreshed first when none is held or it is about to expire. */
  async token(): Promise<string> {
    if (!this.accessToken || Date.now() >= this.accessRenewAt) await this.refresh();
    if (!this.accessToken)
      throw new ApiError({ message: 'Your session has expired.', extensions: { code: 'UNAUTHENTICATED' } });
    return this.accessToken;
  }

  /**
   * Refreshes now, whatever the access token held: after the server refused it (expired, or the
   * session revoked). Rejects, and the session ends ("expired"), when the refresh is refused.
   */
  async renew(): Promise<void> {
    this.accessToken = null;
    await this.token();
  }

  /**
   * Calls the API as this user. Refused as unauthenticated (the token expired early, the session
   * revoked elsewhere), it refreshes once and tries again: a refused refresh ends the session.
   */
  async call<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    try {
      return await postGraphQL<T>(query, variables, await this.token());
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
      await this.renew();
      return postGraphQL<T>(query, variables, await this.token());
    }
  }

  /** One refresh at a time: two calls finding the token expired share the rotation. */
  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const refreshToken = sessionStorage.getItem(REFRESH_KEY);
      if (!refreshToken) {
        this.clear(true);
        return;
      }
      try {
        const data = await postGraphQL<{ refreshToken: AuthPayload }>(
          `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`,
          { t: refreshToken },
        );
        this.signedIn(data.refreshToken);
      } catch (error) {
        // A refused refresh token (spent, revoked, expired): the session is over.
        if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') this.clear(true);
        throw error;
      }
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private signedIn(payload: AuthPayload): void {
    this.accessToken = payload.accessToken;
    this.accessRenewAt = renewalTimeOf(payload.accessToken);
    this.user = payload.user;
    this.expired = false;
    sessionStorage.setItem(REFRESH_KEY, payload.refreshToken);
    this.emit();
  }

  private clear(expired: boolean): void {
    const wasSignedIn = this.user !== null;
    this.accessToken = null;
    this.accessRenewAt = 0;
    this.user = null;
    sessionStorage.removeItem(REFRESH_KEY);
    this.expired = expired && wasSignedIn;
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener({ user: this.user, expired: this.expired });
  }
}

/**
 * When to refresh a token: before its `exp` by {@link REFRESH_AHEAD_MS} or a quarter of its
 * lifetime, whichever is less (a JWT's payload is readable; its signature is the server's
 * business). An unreadable token is due now, so it is refreshed before use.
 */
function renewalTimeOf(token: string): number {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown; iat?: unknown };
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return 0;
    const lifetime = (claims.exp - claims.iat) * 1000;
    return claims.exp * 1000 - Math.min(REFRESH_AHEAD_MS, lifetime / 4);
  } catch {
    return 0;
  }
}
