import { strictEqual } from 'node:assert/strict';
import { createAccessTokenService, generateSigningKey, loadKeySet } from '@switchboard/auth';
import { authPlugin } from '@switchboard/auth/fastify';
import Fastify from 'fastify';

export async function check(): Promise<void> {
  const keys = await loadKeySet([await generateSigningKey()]);
  const tokens = createAccessTokenService(keys, { issuer: 'https://api.example', audience: 'chat' });
  const app = Fastify();
  await app.register(authPlugin, { auth: { verifyAccessToken: (token: string) => tokens.verify(token) } });
  // `request.principal` is typed through the plugin's augmentation of FastifyRequest.
  app.get('/me', async (request) => ({ userId: request.principal?.userId ?? null }));
  // Over a socket, not app.inject (see logging.fastify.ts).
  const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/me`;
  try {
    const refused = await fetch(url);
    strictEqual(refused.status, 401);
    strictEqual(refused.headers.get('www-authenticate'), 'Bearer');
    const { token } = await tokens.sign({ userId: 'u1', sessionId: 's1' });
    const allowed = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    strictEqual(((await allowed.json()) as { userId: unknown }).userId, 'u1');
  } finally {
    await app.close();
  }
}
