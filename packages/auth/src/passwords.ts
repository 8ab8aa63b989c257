import { availableParallelism } from 'node:os';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { wholeNumberOption } from '@switchboard/hot-path';
import { createWorkQueue } from './work-queue.ts';

/** argon2id cost parameters (OWASP password storage cheat sheet: m = 19 MiB, t = 2, p = 1). */
export interface PasswordParams {
  /** Memory in KiB. @default 19456 */
  memoryCost: number;
  /** Iterations. @default 2 */
  timeCost: number;
  /** Lanes. @default 1 */
  parallelism: number;
}

export const OWASP_ARGON2ID: PasswordParams = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** The two argon2 functions used; injectable so tests can count work instead of timing it. */
export interface Argon2Functions {
  hash(password: string, options: PasswordParams): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export interface PasswordHasherOptions {
  params?: Partial<PasswordParams>;
  argon2?: Argon2Functions;
  /**
   * argon2 operations (hash or verify) running at once; more wait in the queue. argon2 runs on
   * the libuv threadpool and is CPU-bound. @default the libuv threadpool size (`UV_THREADPOOL_SIZE`,
   * 4 when unset), capped at the number of CPUs
   */
  concurrency?: number;
  /**
   * Operations waiting for a free slot; past it, `hash` and `verify` fail at once with
   * `AuthError` code `BUSY` (an `AuthBusyError` with `retryAfterMs`). @default 16 × concurrency
   */
  queueSize?: number;
}

export interface PasswordCheck {
  ok: boolean;
  /** The hash was made with other parameters than today's: store a new one (login is the moment). */
  needsRehash: boolean;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * Checks a password. `hash` may be `null` for an unknown user: the password is then checked
   * against a dummy hash made with the same parameters, so both paths cost the same and give
   * the same `{ ok: false }` (no user enumeration through timing or answers). Both wait in the
   * same bounded queue, and both fail alike with `BUSY` when it is full.
   */
  verify(hash: string | null, password: string): Promise<PasswordCheck>;
}

const MAX_PASSWORD_LENGTH = 4_096;

/**
 * argon2id hashing with OWASP parameters by default (configurable), `needsRehash`, and a bounded
 * queue in front of the work (`concurrency`, `queueSize`).
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const params: PasswordParams = { ...OWASP_ARGON2ID, ...options.params };
  for (const [name, value] of Object.entries(params)) {
    wholeNumberOption('createPasswordHasher', `params.${name}`, value, { min: 1 });
  }
  const concurrency = wholeNumberOption(
    'createPasswordHasher',
    'concurrency',
    options.concurrency ?? defaultConcurrency(),
    {
      min: 1,
    },
  );
  const queueSize = wholeNumberOption('createPasswordHasher', 'queueSize', options.queueSize ?? 16 * concurrency, {
    min: 0,
  });
  const queue = createWorkQueue({ concurrency, queueSize });
  const argon2: Argon2Functions = options.argon2 ?? {
    // argon2id is the library's default algorithm (its enum is type-only under verbatimModuleSyntax).
    hash: (password, p) => argon2Hash(password, p),
    verify: (stored, password) => argon2Verify(stored, password),
  };
  // Made once, up front, with today's parameters: verifying against it costs what a real check
  // costs, and the first unknown-user login is not slower than the rest.
  const dummy: Promise<string> = argon2.hash('switchboard dummy password, never valid', params);
  dummy.catch(() => undefined);
  const dummyVerify = async (password: string) => {
    await argon2.verify(await dummy, password).catch(() => false);
  };

  const checkInput = (password: string) => {
    if (typeof password !== 'string') throw new TypeError('password must be a string');
    // Bound the work an attacker can request with a huge "password".
    if (password.length > MAX_PASSWORD_LENGTH)
      throw new TypeError(`password longer than ${MAX_PASSWORD_LENGTH} characters`);
  };

  return {
    async hash(password) {
      checkInput(password);
      // Verifying '' is a failed login; storing it is a bug in the caller's validation.
      if (password.length === 0) throw new TypeError('cannot hash an empty password');
      return queue.run(() => argon2.hash(password, params));
    },
    async verify(stored, password) {
      checkInput(password);
      // One slot for the whole check, the dummy verify after a corrupt hash included.
      return queue.run(() => check(stored, password));
    },
  };

  async function check(stored: string | null, password: string): Promise<PasswordCheck> {
    if (stored === null) {
      await dummyVerify(password);
      return { ok: false, needsRehash: false };
    }
    let ok: boolean;
    try {
      ok = await argon2.verify(stored, password);
    } catch {
      // A corrupt or empty stored hash (an SSO-only account, say) is a failed login that costs
      // what a real one costs, so it does not stand out either.
      await dummyVerify(password);
      return { ok: false, needsRehash: false };
    }
    return { ok, needsRehash: ok && !sameParams(stored, params) };
  }
}

/** argon2 runs on the libuv threadpool; more parallel work than CPUs only queues there. */
function defaultConcurrency(): number {
  const threadpool = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10);
  const threads = Number.isInteger(threadpool) && threadpool > 0 ? threadpool : 4;
  return Math.max(1, Math.min(threads, availableParallelism()));
}

/** Whether a PHC string `$argon2id$v=19$m=..,t=..,p=..$...` was made with `params`. */
function sameParams(stored: string, params: PasswordParams): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  if (!match) return false;
  return (
    Number(match[1]) === params.memoryCost &&
    Number(match[2]) === params.timeCost &&
    Number(match[3]) === params.parallelism
  );
}
