import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';

describe('loadConfig: production settings', () => {
  test('development (NODE_ENV not production): GraphiQL on, no cross-origin access, no metrics settings', () => {
    for (const env of [{}, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }]) {
      expect(loadConfig(env)).toMatchObject({
        production: false,
        graphiql: true,
        corsOrigins: [],
        metricsToken: undefined,
        metricsPort: undefined,
      });
    }
  });

  test('NODE_ENV=production: GraphiQL and introspection off unless GRAPHIQL=true', () => {
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ production: true, graphiql: false });
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'true' }).graphiql).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: ' TRUE ' }).graphiql).toBe(true);
    expect(loadConfig({ GRAPHIQL: 'false' }).graphiql).toBe(false);
  });

  test.each(['yes', '1', 'on', 'enabled'])('GRAPHIQL=%s stops the start, naming the variable', (value) => {
    expect(() => loadConfig({ GRAPHIQL: value })).toThrow(/^GRAPHIQL: must be true or false/);
  });

  test('CORS_ORIGINS: each entry reduced to its origin, duplicates once', () => {
    expect(
      loadConfig({
        CORS_ORIGINS: ' https://Chat.Example.com:443 , http://localhost:5173/, https://chat.example.com,,',
      }).corsOrigins,
    ).toEqual(['https://chat.example.com', 'http://localhost:5173']);
  });

  test.each([
    '*',
    'null',
    'https://chat.example.com, *',
    'chat.example.com',
    'https://chat.example.com/app',
    'https://chat.example.com?x=1',
    'https://user:pass@chat.example.com',
    'ftp://chat.example.com',
    'javascript:alert(1)',
  ])('CORS_ORIGINS=%s stops the start: origins are listed one by one, exactly', (value) => {
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(/^CORS_ORIGINS: /);
  });

  test('METRICS_TOKEN and METRICS_PORT are read; a short token or the server port is refused', () => {
    const token = '0123456789abcdef0123';
    expect(loadConfig({ METRICS_TOKEN: ` ${token} `, METRICS_PORT: '9464' })).toMatchObject({
      metricsToken: token,
      metricsPort: 9464,
    });
    expect(loadConfig({ METRICS_PORT: '0', PORT: '0' }).metricsPort).toBe(0);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/^METRICS_TOKEN: must be at least 16 characters/);
    expect(() => loadConfig({ METRICS_TOKEN: 'sixteen chars with spaces' })).toThrow(/^METRICS_TOKEN: /);
    expect(() => loadConfig({ METRICS_PORT: '4000' })).toThrow(/^METRICS_PORT: must differ from PORT/);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/^METRICS_PORT: /);
  });
});
