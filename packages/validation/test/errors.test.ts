import * as v from 'valibot';
import { describe, expect, expectTypeOf, test } from 'vitest';
import {
  attachmentsSchema,
  displayNameSchema,
  isValidationError,
  messageContentSchema,
  parseInput,
  parseInputAsync,
  uuidSchema,
  ValidationError,
} from '../src/index.ts';

const SendMessageInput = v.object({
  chatId: uuidSchema,
  content: messageContentSchema({ maxLength: 20 }),
  attachments: v.optional(attachmentsSchema, []),
  author: v.object({ displayName: displayNameSchema }),
});

const catchError = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('parseInput', () => {
  test('returns the typed, transformed output', () => {
    const input = parseInput(SendMessageInput, {
      chatId: '0191F0C2-7A7B-7C3D-8E9F-0A1B2C3D4E5F',
      content: '<b onclick=x>hi</b>',
      author: { displayName: ' Zoé ' },
    });
    expect(input).toEqual({
      chatId: '0191f0c2-7a7b-7c3d-8e9f-0a1b2c3d4e5f',
      content: '<b>hi</b>',
      attachments: [],
      author: { displayName: 'Zoé' },
    });
    expectTypeOf(input).toEqualTypeOf<{
      chatId: string;
      content: string;
      attachments: string[];
      author: { displayName: string };
    }>();
  });

  test('throws ValidationError listing every issue with its path', () => {
    const error = catchError(() =>
      parseInput(SendMessageInput, {
        chatId: 'nope',
        content: 'x'.repeat(21),
        attachments: ['https://ok.example/', 'http://files.example/a'],
        author: {},
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(isValidationError(error)).toBe(true);
    const e = error as ValidationError;
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.name).toBe('ValidationError');
    expect(e.issues).toEqual([
      { path: ['chatId'], message: 'must be a UUID' },
      { path: ['content'], message: 'must be at most 20 characters' },
      { path: ['attachments', 1], message: 'must be an https URL' },
      { path: ['author', 'displayName'], message: 'is required' },
    ]);
    expect(e.message).toBe('invalid input: chatId: must be a UUID (and 3 more)');
  });

  test('an issue about the whole input has an empty path', () => {
    const error = catchError(() => parseInput(SendMessageInput, 'not an object')) as ValidationError;
    expect(error.issues).toEqual([{ path: [], message: 'Invalid type: Expected Object but received "not an object"' }]);
  });

  test('parseInputAsync handles async checks', async () => {
    const taken = v.pipeAsync(
      v.string(),
      v.checkAsync(async (name) => name !== 'taken', 'is already taken'),
    );
    await expect(parseInputAsync(taken, 'free')).resolves.toBe('free');
    const error = await parseInputAsync(taken, 'taken').catch((e: unknown) => e);
    expect(isValidationError(error) && error.issues).toEqual([{ path: [], message: 'is already taken' }]);
  });
});

describe('ValidationError', () => {
  test('serializes to JSON with code and issues, and its issues are frozen', () => {
    const error = new ValidationError([{ path: ['a', 0], message: 'bad' }], { cause: new Error('root') });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'ValidationError',
      code: 'VALIDATION_FAILED',
      message: 'invalid input: a.0: bad',
      issues: [{ path: ['a', 0], message: 'bad' }],
    });
    expect((error.cause as Error).message).toBe('root');
    expect(Object.isFrozen(error.issues)).toBe(true);
    expect(Object.isFrozen(error.issues[0]?.path)).toBe(true);
    expect(new ValidationError([], { message: 'custom' }).message).toBe('custom');
  });

  test('subclasses keep their own name', () => {
    class SignUpError extends ValidationError {}
    expect(new SignUpError([{ path: [], message: 'x' }]).name).toBe('SignUpError');
  });

  test('isValidationError checks the code and shape, not the class (duplicate installs)', () => {
    const foreign = Object.assign(new Error('x'), { code: 'VALIDATION_FAILED', issues: [] });
    expect(isValidationError(foreign)).toBe(true);
    expect(isValidationError(Object.assign(new Error('x'), { code: 'VALIDATION_FAILED' }))).toBe(false);
    expect(isValidationError({ code: 'VALIDATION_FAILED', issues: [] })).toBe(false);
    expect(isValidationError(new Error('x'))).toBe(false);
    expect(isValidationError(null)).toBe(false);
  });
});

describe('parseInput misuse', () => {
  test('something that is not a valibot schema is a TypeError that says so', async () => {
    for (const schema of [{}, null, 'string', undefined]) {
      expect(() => parseInput(schema as never, 'x')).toThrow(
        /parseInput: `schema` must be a valibot schema \(v\.object\(\.\.\.\), v\.string\(\), \.\.\.\), got /,
      );
      await expect(parseInputAsync(schema as never, 'x')).rejects.toThrow(
        /parseInputAsync: `schema` must be a valibot schema/,
      );
    }
    expect(() => parseInput({} as never, 'x')).toThrow(TypeError);
  });
});
