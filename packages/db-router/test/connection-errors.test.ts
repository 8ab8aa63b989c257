import { describe, expect, test } from 'vitest';
import { isRecoveryConflict } from '../src/connection-errors.ts';
import { isConnectionError } from '../src/index.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  test('network failures, connection-class SQLSTATEs and shutdowns are connection errors', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'EPIPE',
      'ETIMEDOUT',
      '57P01',
      '57P02',
      '57P03',
      '08006',
      '08001',
    ]) {
      expect(isConnectionError(withCode(code)), code).toBe(true);
    }
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectionError(new AggregateError([withCode('ECONNREFUSED')], ''))).toBe(true);
  });

  test('statement errors are not: they must never be retried', () => {
    for (const code of ['42601', '23505', '25006', '42P01', '40001', '42501', '22P02']) {
      expect(isConnectionError(withCode(code)), code).toBe(false);
    }
    expect(isConnectionError('ECONNRESET')).toBe(false);
    expect(isConnectionError(null)).toBe(false);
    expect(isConnectionError(new Error('syntax error at or near "SELEC"'))).toBe(false);
  });

  test("a standby's recovery conflict is recognised separately", () => {
    expect(isRecoveryConflict(withCode('40001'))).toBe(true);
    expect(isRecoveryConflict(withCode('40P01'))).toBe(false);
  });
});
