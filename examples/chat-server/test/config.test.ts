import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig: limits', () => {
  test('defaults to the limits the server has always applied', () => {
    expect(loadConfig({}).limits).toEqual({
      messagesPerHour: 100,
      messagesPerChatPerHour: 50,
      actionsPerHour: 300,
      typingPerChatPerSecond: 1,
      authPerIpPerMinute: 30,
      loginAttemptsPerIpPerUsername: 10,
      loginAttemptsPerUsername: 100,
      loginWindowMinutes: 15,
      subscriptionsPerUser: 20,
      instances: 2,
    });
  });

  test('reads every limit from its variable', () => {
    const limits = loadConfig({
      MESSAGES_PER_HOUR: '1000000',
      MESSAGES_PER_CHAT_PER_HOUR: '500000',
      ACTIONS_PER_HOUR: '7000',
      TYPING_PER_CHAT_PER_SECOND: '5',
      AUTH_REQUESTS_PER_IP_PER_MINUTE: '600',
      LOGIN_ATTEMPTS_PER_IP_PER_USERNAME: '50',
      LOGIN_ATTEMPTS_PER_USERNAME: '5000',
      LOGIN_WINDOW_MINUTES: '1',
      SUBSCRIPTIONS_PER_USER: '3',
      INSTANCES: '4',
    }).limits;
    expect(limits).toEqual({
      messagesPerHour: 1_000_000,
      messagesPerChatPerHour: 500_000,
      actionsPerHour: 7_000,
      typingPerChatPerSecond: 5,
      authPerIpPerMinute: 600,
      loginAttemptsPerIpPerUsername: 50,
      loginAttemptsPerUsername: 5_000,
      loginWindowMinutes: 1,
      subscriptionsPerUser: 3,
      instances: 4,
    });
  });

  test('ACTIONS_PER_HOUR follows MESSAGES_PER_HOUR (three times it) unless set', () => {
    expect(loadConfig({ MESSAGES_PER_HOUR: '2000' }).limits.actionsPerHour).toBe(6_000);
    expect(loadConfig({ MESSAGES_PER_HOUR: '2000', ACTIONS_PER_HOUR: '10' }).limits.actionsPerHour).toBe(10);
  });

  test('blank means the default; surrounding spaces are allowed', () => {
    expect(loadConfig({ LOGIN_WINDOW_MINUTES: '  ', TYPING_PER_CHAT_PER_SECOND: ' 3 ' }).limits).toMatchObject({
      loginWindowMinutes: 15,
      typingPerChatPerSecond: 3,
    });
  });

  test.each([
    'MESSAGES_PER_HOUR',
    'MESSAGES_PER_CHAT_PER_HOUR',
    'ACTIONS_PER_HOUR',
    'TYPING_PER_CHAT_PER_SECOND',
    'AUTH_REQUESTS_PER_IP_PER_MINUTE',
    'LOGIN_ATTEMPTS_PER_IP_PER_USERNAME',
    'LOGIN_ATTEMPTS_PER_USERNAME',
    'LOGIN_WINDOW_MINUTES',
    'SUBSCRIPTIONS_PER_USER',
    'INSTANCES',
  ])('%s: anything but a whole number of at least 1 stops the start, naming the variable', (variable) => {
    for (const bad of ['0', '-1', '1.5', '1e3', 'ten', '0x10']) {
      let error: unknown;
      try {
        loadConfig({ [variable]: bad });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as ConfigError).message).toBe(`${variable}: must be a whole number of at least 1, got '${bad}'`);
    }
  });
});

describe('loadConfig: REDIS_CLUSTER_NODES', () => {
  test('reads the seed nodes of a Redis Cluster, IPv6 in brackets, spaces around entries allowed', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001 ,[::1]:7002' }).redis).toEqual({
      clusterNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:1' }).redis).toEqual({
      clusterNodes: [{ host: '127.0.0.1', port: 1 }],
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'h:65535' }).redis).toEqual({
      clusterNodes: [{ host: 'h', port: 65_535 }],
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '   ' }).redis).toBeUndefined();
  });

  test.each([
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://b:6379' }, 'set REDIS_CLUSTER_NODES or REDIS_URL, not both'],
    [
      { REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINELS: 's:26379' },
      'set REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both',
    ],
    [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_MASTER_NAME: 'chat' }, undefined],
  ])('%o is a start error, one line naming a variable', (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    if (message) {
      expect((error as ConfigError).variable).toBe('REDIS_CLUSTER_NODES');
      expect((error as ConfigError).message).toBe(`REDIS_CLUSTER_NODES: ${message}`);
    } else {
      expect((error as ConfigError).message).toBe('REDIS_MASTER_NAME: needs REDIS_SENTINELS');
    }
    expect((error as ConfigError).message).not.toContain('\n');
  });

  test.each([
    ['a', "must be host:port[,host:port...], got 'a'"],
    ['a:', "must be host:port[,host:port...], got 'a:'"],
    [':7000', "must be host:port[,host:port...], got ':7000'"],
    ['a:7000:1', "must be host:port[,host:port...], got 'a:7000:1'"],
    ['a:70x0', "must be host:port[,host:port...], got 'a:70x0'"],
    ['a:-1', "must be host:port[,host:port...], got 'a:-1'"],
    ['redis://a:7000', "must be host:port[,host:port...], got 'redis://a:7000'"],
    ['a b:7000', "must be host:port[,host:port...], got 'a b:7000'"],
    ['::1:7000', "must be host:port[,host:port...], got '::1:7000'"],
    ['[a]:7000', "must be host:port[,host:port...], got '[a]:7000'"],
    ['a:0', "port must be from 1 to 65535, got 'a:0'"],
    ['a:65536', "port must be from 1 to 65535, got 'a:65536'"],
    ['a:99999999999999999999', "port must be from 1 to 65535, got 'a:99999999999999999999'"],
    ['a:7000,,b:7001', "has an empty entry in 'a:7000,,b:7001' (host:port[,host:port...])"],
    ['a:7000,', "has an empty entry in 'a:7000,' (host:port[,host:port...])"],
    ['a:7000,A:7000', "lists 'A:7000' twice"],
  ])('REDIS_CLUSTER_NODES=%s is refused: %s', (value, message) => {
    let error: unknown;
    try {
      loadConfig({ REDIS_CLUSTER_NODES: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('REDIS_CLUSTER_NODES');
    expect((error as ConfigError).message).toBe(`REDIS_CLUSTER_NODES: ${message}`);
  });
});
