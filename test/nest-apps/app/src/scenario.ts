import type { INestApplication } from '@nestjs/common';
import type { Auth } from '@switchboard/auth';
import { SWITCHBOARD_AUTH } from '@switchboard/nestjs';
import { ChatService } from './chat.service.js';

/** The issue's scenario against a running app: returns what went wrong (nothing, when all is well). */
export async function scenario(app: INestApplication): Promise<string[]> {
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const auth = app.get<Auth>(SWITCHBOARD_AUTH);
  const { accessToken: ann } = await auth.issueTokens({ id: 'ann' });
  const { accessToken: bob } = await auth.issueTokens({ id: 'bob' });
  await app.get(ChatService).join('ann', 'c1');
  const problems: string[] = [];
  const expectStatus = async (what: string, expected: number, path: string, token?: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status !== expected)
      problems.push(`${what}: ${response.status}, expected ${expected}: ${await response.text()}`);
    return response;
  };
  await expectStatus('public health', 200, '/health');
  const anonymous = await expectStatus('no token', 401, '/me');
  if (!anonymous.headers.get('www-authenticate')?.startsWith('Bearer')) problems.push('no WWW-Authenticate on 401');
  await expectStatus('me', 200, '/me', ann);
  await expectStatus('outside the chat', 403, '/chats/c1/messages', bob, { content: 'hi' });
  // Guards run before pipes: the refused input counts against the limit (3) too.
  await expectStatus('bad input', 400, '/chats/c1/messages', ann, { content: ' ' });
  await expectStatus('inside the chat', 201, '/chats/c1/messages', ann, { content: 'hi' });
  await expectStatus('inside the chat again', 201, '/chats/c1/messages', ann, { content: 'hi' });
  const limited = await expectStatus('past the limit', 429, '/chats/c1/messages', ann, { content: 'hi' });
  if (!(Number(limited.headers.get('retry-after')) > 0)) problems.push('no Retry-After on 429');
  return problems;
}
