import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError } from './errors.ts';

export interface PostgresBinaries {
  /** Folder holding initdb, postgres and pg_basebackup. */
  binDir: string;
  /** OS user to run the servers as (Postgres refuses root); undefined when we are not root. */
  user: { uid: number; gid: number } | undefined;
}

export interface RedisBinaries {
  redisServer: string;
}

const POSTGRES_PACKAGE = 'postgresql-15';
const REDIS_PACKAGE = 'redis-server';
const POSTGRES_TOOLS = ['initdb', 'postgres', 'pg_basebackup'];

/**
 * Finds PostgreSQL 15+ server binaries (`SWITCHBOARD_PG_BIN` wins), installing Debian's
 * postgresql-15 when they are missing and we are root on Debian/Ubuntu.
 */
export function ensurePostgres(): PostgresBinaries {
  let binDir = findPostgresBinDir();
  if (!binDir) {
    installWithApt([POSTGRES_PACKAGE], () => {
      // The Debian package would otherwise create and start a 'main' cluster on port 5432.
      mkdirSync('/etc/postgresql-common/createcluster.conf.d', { recursive: true });
      writeFileSync('/etc/postgresql-common/createcluster.conf.d/no-main.conf', 'create_main_cluster = false\n');
    });
    binDir = findPostgresBinDir();
    if (!binDir) throw new InfraError(`${POSTGRES_PACKAGE} was installed but its binaries were not found`);
  }
  return { binDir, user: postgresUser() };
}

/** Finds redis-server (`SWITCHBOARD_REDIS_SERVER` wins), installing Debian's redis-server when missing. */
export function ensureRedis(): RedisBinaries {
  let redisServer = findRedisServer();
  if (!redisServer) {
    installWithApt([REDIS_PACKAGE]);
    redisServer = findRedisServer();
    if (!redisServer) throw new InfraError(`${REDIS_PACKAGE} was installed but redis-server was not found`);
  }
  return { redisServer };
}

function findPostgresBinDir(): string | undefined {
  const fromEnv = process.env.SWITCHBOARD_PG_BIN;
  if (fromEnv) {
    if (!hasPostgresTools(fromEnv)) {
      throw new InfraError(`SWITCHBOARD_PG_BIN=${fromEnv} does not hold ${POSTGRES_TOOLS.join(', ')}`);
    }
    return fromEnv;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .map(Number)
    .filter((version) => Number.isInteger(version) && version >= 15)
    .sort((a, b) => b - a);
  return versions.map((version) => join(root, String(version), 'bin')).find(hasPostgresTools);
}

function hasPostgresTools(dir: string): boolean {
  return POSTGRES_TOOLS.every((tool) => existsSync(join(dir, tool)));
}

function findRedisServer(): string | undefined {
  const fromEnv = process.env.SWITCHBOARD_REDIS_SERVER;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new InfraError(`SWITCHBOARD_REDIS_SERVER=${fromEnv} does not exist`);
    return fromEnv;
  }
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'].find((path) =>
    existsSync(path),
  );
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new InfraError(
      'running as root, but there is no "postgres" OS user to run PostgreSQL as (install postgresql-15, or run as a normal user)',
    );
  }
}

/**
 * Installs Debian packages when we may (root on a Debian-like system with apt-get); otherwise
 * fails with one line naming what to install. Never skips silently.
 */
function installWithApt(packages: string[], before?: () => void): void {
  const canInstall = isRoot() && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
  if (!canInstall) {
    throw new InfraError(
      `missing ${packages.join(' and ')}: install it (Debian/Ubuntu: sudo apt-get install -y --no-install-recommends ${packages.join(' ')})`,
    );
  }
  process.stderr.write(`[infra] installing ${packages.join(' ')} with apt-get\n`);
  before?.();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch (error) {
    throw new InfraError(`apt-get install ${packages.join(' ')} failed`, undefined, { cause: error });
  }
}
