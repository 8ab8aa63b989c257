import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKey, type PrivateSigningJwk } from '@switchboard/auth';
import { ConfigError } from './config.ts';

/**
 * The access-token signing keys: from `ACCESS_TOKEN_KEYS` (a JSON array of private JWKs, the
 * first one signs) when set, otherwise generated once and kept in `<dataDir>/signing-keys.json`
 * (owner-only), so a restart does not log everyone out.
 */
export async function loadSigningKeys(options: {
  fromEnvironment: string | undefined;
  dataDir: string;
}): Promise<PrivateSigningJwk[]> {
  if (options.fromEnvironment?.trim()) return parseKeys(options.fromEnvironment, 'ACCESS_TOKEN_KEYS');
  const file = join(options.dataDir, 'signing-keys.json');
  const stored = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stored !== undefined) return parseKeys(stored, file);

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const keys = [await generateSigningKey({ alg: 'EdDSA' })];
  // Written aside, then linked into place: link fails if another instance got there first, and
  // then its keys win (both instances must sign with the same ones).
  const draft = `${file}.${randomBytes(6).toString('hex')}`;
  await writeFile(draft, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  try {
    await link(draft, file);
    return keys;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return parseKeys(await readFile(file, 'utf8'), file);
  } finally {
    await rm(draft, { force: true });
  }
}

function parseKeys(text: string, source: string): PrivateSigningJwk[] {
  let keys: unknown;
  try {
    keys = JSON.parse(text);
  } catch {
    throw new ConfigError(source, 'must be a JSON array of private JWKs (from generateSigningKey())');
  }
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key === 'object' && key && 'd' in key)) {
    throw new ConfigError(source, 'must be a non-empty JSON array of private JWKs (each with a "d" member)');
  }
  return keys as PrivateSigningJwk[];
}
