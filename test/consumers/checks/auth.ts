import { ok, strictEqual } from 'node:assert/strict';
import { createAccessTokenService, createPasswordHasher, generateSigningKey, loadKeySet } from '@switchboard/auth';

export async function check(): Promise<void> {
  const keys = await loadKeySet([await generateSigningKey()]);
  const tokens = createAccessTokenService(keys, { issuer: 'https://api.example', audience: 'chat' });
  const { token } = await tokens.sign({ userId: 'u1', sessionId: 's1' });
  const principal = await tokens.verify(token);
  strictEqual(principal.userId, 'u1');

  // Cheap parameters: this checks that the native argon2 binding loads, not its cost.
  const hasher = createPasswordHasher({ params: { memoryCost: 1024, timeCost: 1 } });
  const hash = await hasher.hash('correct horse battery staple');
  ok((await hasher.verify(hash, 'correct horse battery staple')).ok);
  ok(!(await hasher.verify(hash, 'wrong')).ok);
}
