import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * POSTs `{"text":"hi"}` to `path` in two writes 50 ms apart, so a body parser's callbacks run on
 * later socket events than the request's start; returns the response's head and body.
 */
export async function postSlowBody(
  port: number,
  path: string,
  requestId: string,
): Promise<{ head: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-request-id: ${requestId}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{"text":',
  );
  await sleep(50);
  socket.write('"hi"}');
  let text = '';
  for await (const chunk of socket) text += (chunk as Buffer).toString();
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { head, body };
}
