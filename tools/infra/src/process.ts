import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from './errors.ts';

/** A server process we started: enough to find it again (also from another process) and stop it. */
export interface ProcessRecord {
  /** Human name, e.g. `postgres-primary`, `redis-sentinel-2`. */
  name: string;
  pid: number;
  /**
   * Kernel start time of the process (field 22 of /proc/PID/stat). Together with the pid it names
   * one process for good: a pid reused by an unrelated process is never signalled.
   */
  startTime: string;
  logFile: string;
  /** The signal that shuts this server down gracefully (SIGINT for Postgres, SIGTERM for Redis). */
  stopSignal: NodeJS.Signals;
}

export interface SpawnServerOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  stopSignal: NodeJS.Signals;
  /** Run as this OS user (Postgres refuses root). */
  user?: { uid: number; gid: number } | undefined;
  /** Leave the process running when this Node process exits (the CLI's `up`). */
  detached?: boolean;
}

export interface SpawnedServer {
  record: ProcessRecord;
  /** Resolves with the exit code/signal once the process has exited (only for children of this process). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once `exited` has resolved. */
  hasExited(): boolean;
}

/**
 * Starts a server in its own session (so a terminal's Ctrl-C reaches us first, and we stop the
 * servers in order, not the terminal all at once), with stdout and stderr appended to a log
 * file, holding no pipe to us.
 */
export async function spawnServer(options: SpawnServerOptions): Promise<SpawnedServer> {
  const logFd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: '/',
      detached: true,
      stdio: ['ignore', logFd, logFd],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      env: { ...process.env, LC_ALL: 'C' },
    });
  } finally {
    closeSync(logFd);
  }
  // A failed exec (EACCES, ENOENT) arrives as an 'error' event, never as a throw.
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const spawned = new Promise<void>((resolve) => child.once('spawn', () => resolve()));
  const first = await Promise.race([spawned.then(() => undefined), spawnError]);
  if (first instanceof Error) {
    throw new InfraError(`could not start ${options.name} (${options.command}): ${first.message}`);
  }
  const pid = child.pid;
  if (pid === undefined) throw new InfraError(`could not start ${options.name}: no pid`);
  if (options.detached) child.unref();

  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const startTime = readStartTime(pid);
  if (startTime === undefined) {
    // Without a start time the record could later match an unrelated process that reuses the pid.
    throw new InfraError(`${options.name} exited immediately`, logTail(options.logFile));
  }
  return {
    record: { name: options.name, pid, startTime, logFile: options.logFile, stopSignal: options.stopSignal },
    exited,
    hasExited: () => done,
  };
}

/** Runs a short-lived command to completion; rejects with its output when it fails. */
export async function runCommand(
  command: string,
  args: string[],
  options: { user?: { uid: number; gid: number } | undefined; timeoutMs?: number } = {},
): Promise<string> {
  const child = spawn(command, args, {
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    env: { ...process.env, LC_ALL: 'C' },
    timeout: options.timeoutMs ?? 60_000,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const result = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  if (result.error || result.code !== 0) {
    const why = result.error ? result.error.message : `exit code ${result.code}`;
    throw new InfraError(`${command} ${args.join(' ')} failed (${why})`, tail(output));
  }
  return output;
}

/** Field 22 of /proc/PID/stat, or undefined when the process is gone. */
export function readStartTime(pid: number): string | undefined {
  const stat = readStat(pid);
  return stat?.[19];
}

/** The fields of /proc/PID/stat after the command name (index 0 is the state letter). */
function readStat(pid: number): string[] | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses; everything after the last ')' is fixed.
  return raw
    .slice(raw.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
}

/**
 * Whether the recorded process still runs. A zombie counts as gone (it holds no port or file),
 * and so does a different process that got the same pid.
 */
export function isRunning(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const stat = readStat(record.pid);
  if (!stat) return false;
  const state = stat[0];
  if (state === 'Z' || state === 'X') return false;
  return stat[19] === record.startTime;
}

/** Whether the recorded process is stopped by a signal (SIGSTOP): alive, but answers nothing. */
export function isStopped(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const stat = readStat(record.pid);
  return stat !== undefined && stat[0] === 'T' && stat[19] === record.startTime;
}

/**
 * Sends a signal to the recorded process and all its descendants. Not a process-group signal:
 * Postgres backends call setsid(), so each leads a group of its own.
 */
export function signalTree(record: Pick<ProcessRecord, 'pid' | 'startTime'>, signal: NodeJS.Signals): void {
  if (!isRunning(record)) return;
  const send = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // Exited between the listing and the signal.
    }
  };
  // Freeze the root first, so it cannot fork a child between our listing and our signal.
  if (signal !== 'SIGCONT') send(record.pid, 'SIGSTOP');
  const tree = processTree(record.pid);
  for (const pid of tree) send(pid, signal);
  // A root that was only frozen for the listing goes on (SIGKILL/SIGSTOP need no thaw).
  if (signal !== 'SIGCONT' && signal !== 'SIGSTOP' && signal !== 'SIGKILL') send(record.pid, 'SIGCONT');
}

/** `root` and the pids of all its live descendants, read from /proc. */
export function processTree(root: number): number[] {
  return [root, ...descendants(root)];
}

/** Pids of every live descendant of `root`, read from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = Number(readStat(pid)?.[1]);
    if (!Number.isInteger(parent)) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Sends a signal to the recorded process alone. */
export function signalProcess(record: ProcessRecord, signal: NodeJS.Signals): void {
  if (!isRunning(record)) return;
  try {
    process.kill(record.pid, signal);
  } catch {
    // Exited between the check and the signal.
  }
}

/** Polls until the process is gone; false on timeout. */
export async function waitUntilGone(record: ProcessRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(record)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Waits until the process has left the process table, zombie included (an orphan is reaped by
 * PID 1, which may take a moment); false on timeout. Only cosmetic: a zombie holds nothing.
 */
export async function waitUntilReaped(
  record: Pick<ProcessRecord, 'pid' | 'startTime'>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (readStartTime(record.pid) === record.startTime) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Stops a server: SIGCONT (it may be paused), the server's own graceful signal, then SIGKILL to
 * the whole group if it has not exited within `graceMs`.
 */
export async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isRunning(record)) return;
  signalTree(record, 'SIGCONT');
  signalProcess(record, record.stopSignal);
  if (await waitUntilGone(record, graceMs)) return;
  signalTree(record, 'SIGKILL');
  if (!(await waitUntilGone(record, 5_000))) {
    throw new InfraError(`${record.name} (pid ${record.pid}) did not exit after SIGKILL`);
  }
}

/** The last lines of a log file (for error messages). */
export function logTail(file: string, lines = 20): string {
  try {
    return tail(readFileSync(file, 'utf8'), lines);
  } catch {
    return '';
  }
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Polls `check` until it returns a value other than undefined, or throws on timeout. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; onTimeout?: () => string; signal?: AbortSignal | undefined },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (options.signal?.aborted) throw new InfraError(`start aborted while waiting for ${what}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      // An InfraError is final (the server died, say); anything else may pass with time.
      if (error instanceof InfraError) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new InfraError(
        `timed out after ${options.timeoutMs} ms waiting for ${what}${reason}`,
        options.onTimeout?.(),
      );
    }
    await sleep(options.intervalMs ?? 25);
  }
}

/**
 * Like Promise.all, but waits for every promise to settle before rejecting with the first
 * failure: a cleanup that runs after it then sees every process that was started.
 */
export async function allSettledOrThrow<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}
