import { strictEqual } from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createAccessTokenService, generateSigningKey, loadKeySet } from '@switchboard/auth';
import { authMiddleware } from '@switchboard/auth/express';
import express from 'express';

export async function check(): Promise<void> {
  const keys = await loadKeySet([await generateSigningKey()]);
  const tokens = createAccessTokenService(keys, { issuer: 'https://api.example', audience: 'chat' });
  const app = express();
  app.use(authMiddleware({ auth: { verifyAccessToken: (token: string) => tokens.verify(token) } }));
  // `req.principal` is typed through the middleware's augmentation of Express's Request.
  app.get('/me', (req, res) => {
    res.json({ userId: req.principal?.userId ?? null });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
    const refused = await fetch(url);
    strictEqual(refused.status, 401);
    strictEqual(refused.headers.get('www-authenticate')?.startsWith('Bearer'), true);
    const { token } = await tokens.sign({ userId: 'u1', sessionId: 's1' });
    const allowed = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    strictEqual(((await allowed.json()) as { userId: unknown }).userId, 'u1');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
