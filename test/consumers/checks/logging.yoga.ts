import { ok, strictEqual } from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, logContext } from '@switchboard/logging';
import { useRequestLogging } from '@switchboard/logging/yoga';
import { createSchema, createYoga } from 'graphql-yoga';

export async function check(): Promise<void> {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    { serviceName: 'consumer' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  );
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { requestId: String }',
      resolvers: { Query: { requestId: () => logContext()?.requestId } },
    }),
    plugins: [useRequestLogging({ logger: log })],
    logging: false,
  });
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-42' },
    body: JSON.stringify({ query: 'query Who { requestId }' }),
  });
  strictEqual(response.headers.get('x-request-id'), 'req-42');
  strictEqual(((await response.json()) as { data: { requestId: string } }).data.requestId, 'req-42');
  const line = lines.find((entry) => entry['graphql.operation.name'] === 'Who');
  ok(line, 'one line for the operation');
  strictEqual(line['http.request.id'], 'req-42');
  strictEqual(line['event.outcome'], 'success');
  ok(typeof line['event.duration'] === 'number');
}
