/** What the server reads from its environment, validated once at start. */
export interface ServerConfig {
  /** `PORT`, 0 for any free port. @default 4000 */
  port: number;
  /** `HOST`. @default '127.0.0.1' */
  host: string;
}

/** A configuration mistake: one line naming the variable, printed instead of a stack trace. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return { port: parsePort(env.PORT), host: parseHost(env.HOST) };
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 4000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    throw new ConfigError('PORT', `must be a whole number from 0 to 65535, got '${raw}'`);
  }
  return port;
}

function parseHost(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return '127.0.0.1';
  if (/\s/.test(raw.trim())) throw new ConfigError('HOST', `must be a host name or address, got '${raw}'`);
  return raw.trim();
}
