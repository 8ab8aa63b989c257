import { strictEqual } from 'node:assert/strict';
import { logContext } from '@switchboard/logging';
import { fastifyRequestContext, fastifyRequestId } from '@switchboard/logging/fastify';
import Fastify from 'fastify';

export async function check(): Promise<void> {
  const app = Fastify({ genReqId: fastifyRequestId() });
  await app.register(fastifyRequestContext);
  app.get('/', async (request) => ({ context: logContext()?.requestId, fastify: request.id }));
  // Over a socket, not app.inject: inject loads light-my-request, which requires the ESM-only
  // `cookie`, out of reach of CommonJS runs without require(esm).
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const response = await fetch(url, { headers: { 'x-request-id': 'req-7' } });
    strictEqual(response.headers.get('x-request-id'), 'req-7');
    const body = (await response.json()) as { context: unknown; fastify: unknown };
    strictEqual(body.context, 'req-7');
    strictEqual(body.fastify, 'req-7');
  } finally {
    await app.close();
  }
}
