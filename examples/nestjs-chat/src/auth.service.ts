import { ConflictException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { TokenPair } from '@switchboard/auth';
import type { Switchboard } from './switchboard.ts';
import { SWITCHBOARD_APP } from './tokens.ts';

export interface AuthPayload extends TokenPair {
  user: { id: string; username: string };
}

/** The roadmap's AuthService: register, login, refresh with rotation (reuse revokes the session). */
@Injectable()
export class AuthService {
  constructor(@Inject(SWITCHBOARD_APP) private readonly app: Switchboard) {}

  async register(username: string, password: string): Promise<AuthPayload> {
    const hash = await this.app.auth.hashPassword(password);
    const { rows } = await this.app.pool.query<{ id: string }>(
      'INSERT INTO nest_users (username, password_hash) VALUES ($1, $2) ON CONFLICT (username) DO NOTHING RETURNING id',
      [username, hash],
    );
    const id = rows[0]?.id;
    if (id === undefined) throw new ConflictException('username already taken');
    this.app.log.info({ userId: id }, 'user registered');
    return { ...(await this.app.auth.issueTokens({ id })), user: { id, username } };
  }

  async login(username: string, password: string): Promise<AuthPayload> {
    const { rows } = await this.app.pool.query<{ id: string; password_hash: string }>(
      'SELECT id, password_hash FROM nest_users WHERE username = $1',
      [username],
    );
    const user = rows[0];
    // Unknown users cost the same as a wrong password (`verifyPassword(null, …)`).
    const check = await this.app.auth.verifyPassword(user?.password_hash ?? null, password);
    if (!user || !check.ok) throw new UnauthorizedException('wrong username or password');
    if (check.needsRehash) {
      const rehashed = await this.app.auth.hashPassword(password);
      await this.app.pool.query('UPDATE nest_users SET password_hash = $2 WHERE id = $1', [user.id, rehashed]);
    }
    return { ...(await this.app.auth.issueTokens({ id: user.id })), user: { id: user.id, username } };
  }

  async refresh(refreshToken: string): Promise<AuthPayload> {
    const tokens = await this.app.auth.refresh(refreshToken);
    const { userId } = await this.app.auth.verifyAccessToken(tokens.accessToken);
    return { ...tokens, user: await this.user(userId) };
  }

  async user(id: string): Promise<{ id: string; username: string }> {
    const { rows } = await this.app.pool.query<{ id: string; username: string }>(
      'SELECT id, username FROM nest_users WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw new UnauthorizedException('no such user');
    return rows[0];
  }
}
