import { ok, strictEqual, throws } from 'node:assert/strict';
import {
  isValidationError,
  messageContentSchema,
  parseInput,
  sanitizeRichText,
  uuidSchema,
} from '@switchboard/validation';
import * as v from 'valibot';

export async function check(): Promise<void> {
  const clean = sanitizeRichText('<p onclick="steal()">hi <script>alert(1)</script><b>there</b></p>');
  ok(!clean.includes('script') && !clean.includes('onclick') && clean.includes('<b>there</b>'));
  const SendMessage = v.object({ chatId: uuidSchema, content: messageContentSchema({ maxLength: 100 }) });
  const input = parseInput(SendMessage, {
    chatId: '0190c9b2-6e4a-7c1e-9f3b-2a7d5e8c1b4f',
    content: 'hello <img src=x onerror=alert(1)>',
  });
  ok(!input.content.includes('onerror'));
  throws(() => parseInput(SendMessage, { chatId: 'nope', content: 'x' }), isValidationError);
  strictEqual(typeof input.chatId, 'string');
}
