/**
 * The chat page (examples/chat-web, built by Vite) at `/`, same origin as `/graphql`:
 * `index.html` never cached (it names the current assets), `/assets/*` (content-hashed names)
 * cached for a year, and a Content-Security-Policy that lets scripts and styles come from this
 * origin only — no inline script, so markup that slipped into the page could not run.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build -w @switchboard/chat-web` writes the page (the same from src/ and dist/). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../chat-web/dist', import.meta.url));

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // 'self' covers ws:/wss: to this origin (CSP Level 3): the subscriptions' socket.
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};
// Asset names as Vite writes them: no separators, no dot-dot, nothing to escape the folder with.
const ASSET_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.[a-z0-9]+$/;

/**
 * A handler for GET `/` and `/assets/<name>`; answers true when it served the request. Without a
 * build, `/` says how to make one.
 */
export function createWebHandler(
  root = DEFAULT_WEB_ROOT,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const path = new URL(request.url ?? '/', 'http://server').pathname;
    if (path === '/' || path === '/index.html') {
      void serveFile(response, join(root, 'index.html'), 'text/html; charset=utf-8', 'no-cache', request.method);
      return true;
    }
    if (path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      const type = TYPES[extname(name)];
      if (!ASSET_NAME.test(name) || type === undefined) {
        notFound(response);
        return true;
      }
      void serveFile(response, join(root, 'assets', name), type, 'public, max-age=31536000, immutable', request.method);
      return true;
    }
    return false;
  };
}

async function serveFile(
  response: ServerResponse,
  file: string,
  type: string,
  cacheControl: string,
  method: string,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    if (file.endsWith('index.html')) {
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      response.end('The chat page is not built: run `npm run build -w @switchboard/chat-web` (npm start does it).\n');
      return;
    }
    notFound(response);
    return;
  }
  response.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'cache-control': cacheControl,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  response.end(method === 'HEAD' ? undefined : body);
}

function notFound(response: ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  response.end('Not found\n');
}
