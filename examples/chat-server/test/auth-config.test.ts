import { describe, expect, test } from 'vitest';
import { ConfigError, DEFAULT_OPERATIONS_PER_MINUTE, loadConfig } from '../src/config.ts';

const refusal = (env: NodeJS.ProcessEnv): ConfigError | undefined => {
  try {
    loadConfig(env);
  } catch (error) {
    return error as ConfigError;
  }
  return undefined;
};

describe('loadConfig: the operation budget and auth settings', () => {
  test('unset: the default operation budget (applied by createApp), auth defaults, clean-up every 10 minutes', () => {
    const config = loadConfig({});
    expect(config.limits.operationsPerMinute).toBeUndefined();
    expect(DEFAULT_OPERATIONS_PER_MINUTE).toBe(6_000);
    expect(config.auth).toEqual({
      passwordConcurrency: undefined,
      passwordQueueSize: undefined,
      cleanupIntervalMinutes: 10,
    });
  });

  test('each from its variable', () => {
    const config = loadConfig({
      OPERATIONS_PER_MINUTE: '1000000000',
      PASSWORD_CONCURRENCY: '2',
      PASSWORD_QUEUE_SIZE: ' 8 ',
      AUTH_CLEANUP_INTERVAL_MINUTES: '60',
    });
    expect(config.limits.operationsPerMinute).toBe(1_000_000_000);
    expect(config.auth).toEqual({ passwordConcurrency: 2, passwordQueueSize: 8, cleanupIntervalMinutes: 60 });
  });

  test.each(['OPERATIONS_PER_MINUTE', 'PASSWORD_CONCURRENCY', 'PASSWORD_QUEUE_SIZE', 'AUTH_CLEANUP_INTERVAL_MINUTES'])(
    '%s: anything but a whole number of at least 1 stops the start, naming the variable',
    (variable) => {
      for (const bad of ['0', '-1', '1.5', 'ten']) {
        const error = refusal({ [variable]: bad });
        expect(error).toBeInstanceOf(ConfigError);
        expect(error?.variable).toBe(variable);
      }
    },
  );
});
