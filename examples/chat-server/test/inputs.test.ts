import { isValidationError, parseInput } from '@switchboard/validation';
import { describe, expect, test } from 'vitest';
import { sendMessageBody, sendMessageChatId, sendMessageInput } from '../src/chat/inputs.ts';

const CHAT = '0b6f7c2e-4d0a-4e8b-9a51-2f1c3d4e5f60';

describe('sendMessageChatId', () => {
  test('reads an input object once, however often the rate-limit key and the send ask', () => {
    let reads = 0;
    const input = {
      get chatId() {
        reads++;
        return ` ${CHAT.toUpperCase()} `;
      },
      content: 'hi',
    };
    expect(sendMessageChatId(input)).toBe(CHAT);
    expect(sendMessageChatId(input)).toBe(CHAT);
    expect(reads).toBe(1);
    // Another object (another request) is read afresh.
    expect(sendMessageChatId({ chatId: CHAT })).toBe(CHAT);
  });

  test('an invalid or missing id is null, and the full schema still reports it', () => {
    for (const input of [{ chatId: 'not-an-id', content: 'hi' }, { content: 'hi' }, null, 'x']) {
      expect(sendMessageChatId(input)).toBeNull();
    }
    let error: unknown;
    try {
      parseInput(sendMessageInput, { chatId: 'not-an-id', content: '' });
    } catch (caught) {
      error = caught;
    }
    expect(isValidationError(error)).toBe(true);
    const fields = (error as { issues: { path: string[] }[] }).issues.map((issue) => issue.path.join('.'));
    expect(fields).toEqual(expect.arrayContaining(['chatId', 'content']));
  });

  test('the body schema parses everything but the id, as the full schema does', () => {
    const raw = { chatId: CHAT, content: '  hello  ', clientId: 'c-1' };
    expect({ chatId: sendMessageChatId(raw), ...parseInput(sendMessageBody, raw) }).toEqual(
      parseInput(sendMessageInput, raw),
    );
  });
});
