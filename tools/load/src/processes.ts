import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A server the harness started as its own `node` process (so a drill can kill one alone). */
export interface ServerProcess {
  name: string;
  pid: number;
  /** What its banner printed: the GraphQL endpoint. */
  url: string;
  /** stdout and stderr, appended. */
  logFile: string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM (the server finishes its requests and stops its embedded PostgreSQL), SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL, as a crash would: nothing is cleaned up (an embedded PostgreSQL stays behind). */
  kill(): Promise<void>;
}

export interface StartServerOptions {
  name: string;
  /** The script `node` runs, and any arguments after it. */
  args: string[];
  /** Node flags before the script (e.g. `--cpu-prof`). */
  execArgv?: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Captures the URL from the log once the server listens. */
  banner: RegExp;
  cwd?: string;
  /** @default 60000 */
  startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Whatever ends this process (an exception, `process.exit`) asks the servers it started to stop:
 * they are detached (so a terminal's Ctrl-C reaches only us, and we stop them in order), and
 * would otherwise run on.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGTERM');
      } catch {
        // Already gone.
      }
    }
  });
}

/** Starts a server, output to `logFile`, and resolves once its banner (with its URL) is in the log. */
export async function startServerProcess(options: StartServerOptions): Promise<ServerProcess> {
  installExitHook();
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...(options.execArgv ?? []), ...options.args], {
      env: options.env,
      cwd: options.cwd ?? process.cwd(),
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  live.add(child);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const stop = async (timeoutMs = 20_000) => {
    if (done) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let url: string | undefined;
  while (!url) {
    const failure = await Promise.race([spawnError, sleep(50).then(() => undefined)]);
    if (failure) throw new Error(`${options.name} could not start: ${failure.message}`);
    const log = readLog(options.logFile);
    url = options.banner.exec(log)?.[1];
    if (url) break;
    if (done) throw new Error(`${options.name} exited during start; its log (${options.logFile}):\n${tail(log)}`);
    if (Date.now() > deadline) {
      await stop(5_000);
      throw new Error(`${options.name} printed no banner in time; its log (${options.logFile}):\n${tail(log)}`);
    }
  }
  return {
    name: options.name,
    pid: child.pid as number,
    url,
    logFile: options.logFile,
    exited,
    hasExited: () => done,
    stop,
    kill: async () => {
      if (done) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The last lines of a log, for an error message. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
