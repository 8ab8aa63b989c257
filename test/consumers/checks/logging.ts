import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, logContext, requestContext, runWithLogContext, setLogContext } from '@switchboard/logging';

export async function check(): Promise<void> {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ serviceName: 'consumer', serviceVersion: '1.0.0' }, destination);
  await runWithLogContext({ requestId: 'req-1' }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    setLogContext({ userId: 'user-1' });
    log.info({ password: 'hunter2' }, 'hello');
  });
  const line = lines[0] as Record<string, unknown>;
  strictEqual(line.message, 'hello');
  strictEqual(line['log.level'], 'info');
  strictEqual(line['service.name'], 'consumer');
  strictEqual(line['http.request.id'], 'req-1');
  strictEqual(line['user.id'], 'user-1');
  strictEqual(line.password, '[redacted]');
  throws(() => createLogger({ serviceName: '' }), TypeError);

  // The middleware gives each request its id, echoed on the response and seen inside the handler.
  const middleware = requestContext();
  const server = createServer((req, res) => middleware(req, res, () => res.end(String(logContext()?.requestId))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const answer = await new Promise<{ header: unknown; body: string }>((resolve, reject) => {
    const sent = httpRequest({ host: '127.0.0.1', port, headers: { 'x-request-id': 'abc-123' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += String(chunk);
      });
      res.on('end', () => resolve({ header: res.headers['x-request-id'], body }));
    });
    sent.on('error', reject);
    sent.end();
  });
  await new Promise((resolve) => server.close(resolve));
  deepStrictEqual(answer, { header: 'abc-123', body: 'abc-123' });
  ok(logContext() === undefined);
}
