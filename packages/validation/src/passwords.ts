import * as v from 'valibot';
import { DEFAULT_PASSWORD_BLOCKLIST } from './password-blocklist.ts';
import { findUnstorableCharacter, textLength, UNSTORABLE_MESSAGES } from './text.ts';

/**
 * A set of passwords that must not be used, matched case-insensitively after NFKC
 * normalization. Make one with {@link createPasswordBlocklist}.
 */
export interface PasswordBlocklist {
  /** True when `word` (normalized and lowercased) is on the list itself. */
  has(word: string): boolean;
  /** How many distinct entries. */
  readonly size: number;
}

/** Options of {@link createPasswordBlocklist}. */
export interface PasswordBlocklistOptions {
  /** Start from the list shipped with this package. @default true */
  includeDefaults?: boolean;
}

const canonical = (word: string) => word.normalize('NFKC').toLowerCase();
const SEPARATORS = /[\s._\-*#~]+/gu;

/**
 * A blocklist made of your own words (breached passwords you hold, your product's name and
 * jargon) plus, unless `includeDefaults: false`, the compact list shipped with this package.
 *
 * @example
 * const blocklist = createPasswordBlocklist(['switchboard', 'chatapp2026']);
 * const schema = passwordSchema({ blocklist });
 */
export function createPasswordBlocklist(
  words: Iterable<string> = [],
  options: PasswordBlocklistOptions = {},
): PasswordBlocklist {
  const entries = new Set<string>();
  const lookup = new Set<string>();
  const add = (entry: string) => {
    entries.add(entry);
    lookup.add(entry);
    // Passwords are also compared without separators: 'tangerine-lighthouse' blocks 'Tangerine Lighthouse'.
    lookup.add(entry.replace(SEPARATORS, ''));
  };
  if (options.includeDefaults ?? true) for (const word of DEFAULT_PASSWORD_BLOCKLIST) add(word);
  for (const word of words) {
    if (typeof word !== 'string') throw new TypeError('blocklist entries must be strings');
    const entry = canonical(word).trim();
    if (entry.length > 0) add(entry);
  }
  return { has: (word) => lookup.has(canonical(word)), size: entries.size };
}

let defaultBlocklist: PasswordBlocklist | undefined;
const getDefaultBlocklist = () => {
  defaultBlocklist ??= createPasswordBlocklist();
  return defaultBlocklist;
};

// Keyboard rows and columns (QWERTY, QWERTZ, AZERTY), the alphabet and digits: any run along
// them (forwards or backwards) is a pattern, not a secret.
const WALKS = [
  'abcdefghijklmnopqrstuvwxyz',
  '01234567890',
  'qwertyuiopasdfghjklzxcvbnm',
  'qwertzuiopasdfghjklyxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  "qwertyuiop[]asdfghjkl;'zxcvbnm,./",
  '`1234567890-=',
  '~!@#$%^&*()_+',
  'qazwsxedcrfvtgbyhnujmikolp',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
  'zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0',
  '1q2w3e4r5t6y7u8i9o0p',
  'q1w2e3r4t5y6u7i8o9p0',
  'a1b2c3d4e5f6g7h8i9j0',
];
const WALK_TEXT = WALKS.flatMap((walk) => [walk, [...walk].reverse().join('')]).join('\n');
const isWalk = (piece: string) => piece.length >= 3 && WALK_TEXT.includes(piece);

const LEET: Record<string, string> = {
  '0': 'o',
  '3': 'e',
  '4': 'a',
  '@': 'a',
  '5': 's',
  $: 's',
  '7': 't',
  '9': 'g',
  '!': 'i',
  '+': 't',
};
const deleet = (word: string, one: string) =>
  word.replace(/[0134579@$!+]/g, (c) => (c === '1' ? one : (LEET[c] as string)));
const EDGES = /^[^\p{L}]+|[^\p{L}]+$/gu;

/** True when the string is one unit repeated (`abcabcabc`, `aaaaaaa`, `passwordpassword`). */
function isRepetition(word: string): boolean {
  const chars = [...word];
  const n = chars.length;
  if (n < 2) return false;
  for (let period = 1; period <= n / 2; period++) {
    let repeats = true;
    for (let i = period; i < n; i++) {
      if (chars[i] !== chars[i - period]) {
        repeats = false;
        break;
      }
    }
    if (repeats) return true;
  }
  return false;
}

const MAX_FILLERS = 2;

/**
 * True when the whole string splits into pieces an attacker guesses first: blocklist entries
 * (of 4 characters or more), keyboard and alphabet walks, runs of one unit, plus at most two
 * short fillers (numbers of up to 4 digits such as years, runs of up to 2 ASCII symbols).
 * `dragonqwerty2024!` and `monkey1984shadow` are such strings; `violet-harbor-mints-quietly`
 * and random strings are not.
 */
function isComposedOfCommonPieces(word: string, blocklist: PasswordBlocklist): boolean {
  const chars = [...word];
  const n = chars.length;
  // reachable[pos * (MAX_FILLERS + 1) + fillers]: a split of chars[0..pos) using that many fillers.
  const width = MAX_FILLERS + 1;
  const reachable = new Uint8Array((n + 1) * width);
  reachable[0] = 1;
  for (let start = 0; start < n; start++) {
    for (let fillers = 0; fillers <= MAX_FILLERS; fillers++) {
      if (!reachable[start * width + fillers]) continue;
      let piece = '';
      for (let end = start + 1; end <= Math.min(n, start + 40); end++) {
        piece += chars[end - 1];
        const length = end - start;
        const common = (length >= 4 && blocklist.has(piece)) || isWalk(piece) || (length >= 3 && isRepetition(piece));
        if (common) reachable[end * width + fillers] = 1;
        else if (
          fillers < MAX_FILLERS &&
          ((length <= 4 && /^\d+$/.test(piece)) || (length <= 2 && /^[!-/:-@[-`{-~]+$/.test(piece)))
        ) {
          reachable[end * width + fillers + 1] = 1;
        }
      }
    }
  }
  // At least one common piece: a string of fillers alone ("12!") is just short.
  for (let fillers = 0; fillers <= MAX_FILLERS; fillers++)
    if (reachable[n * width + fillers] && n > fillers * 4) return true;
  return false;
}

function variants(password: string): Set<string> {
  const lower = canonical(password);
  const out = new Set<string>();
  for (const base of [lower, lower.replace(SEPARATORS, '')]) {
    for (const word of [base, deleet(base, 'i'), deleet(base, 'l')]) {
      out.add(word);
      out.add(word.replace(EDGES, ''));
    }
    const core = base.replace(EDGES, '');
    out.add(deleet(core, 'i'));
    out.add(deleet(core, 'l'));
  }
  out.delete('');
  return out;
}

/**
 * True when `password` is a common or easily guessed one: on the blocklist (the shipped one, or
 * yours), ignoring case, separators, leetspeak (`p@ssw0rd`) and leading/trailing digits and
 * symbols (`password2024!`); or one unit repeated (`passwordpassword`, `aaaaaaaaaaaaaaaa`); or
 * a keyboard or alphabet walk (`qwertyuiopasdfgh`, `1q2w3e4r5t6y7u8i`); or made only of such
 * pieces (`dragonqwerty2024`).
 *
 * @example
 * isCommonPassword('Password123!'); // true
 * isCommonPassword('violet harbor mints quietly'); // false
 */
export function isCommonPassword(password: string, options: { blocklist?: PasswordBlocklist } = {}): boolean {
  const blocklist = options.blocklist ?? getDefaultBlocklist();
  for (const word of variants(password)) {
    if (blocklist.has(word) || isRepetition(word) || isComposedOfCommonPieces(word, blocklist)) return true;
  }
  return false;
}

/**
 * Whether `password` is mostly made of context words (the username, the email address and its
 * local part, the service name): it is if removing every occurrence of them (ignoring case)
 * leaves fewer than `minLength` characters. `alice2024alice!` for user `alice` is; a long
 * passphrase that merely mentions the name is not.
 */
export function isBasedOnContext(password: string, context: readonly string[], minLength: number): boolean {
  let rest = canonical(password).replace(SEPARATORS, '');
  let matched = false;
  const words = new Set<string>();
  for (const raw of context) {
    const word = canonical(raw).trim();
    if (word.length < 3) continue;
    words.add(word.replace(SEPARATORS, ''));
    const at = word.indexOf('@');
    if (at > 0) {
      words.add(word.slice(0, at).replace(SEPARATORS, ''));
      words.add(word.slice(at + 1).split('.')[0] ?? '');
    }
  }
  for (const word of [...words].sort((a, b) => b.length - a.length)) {
    if (word.length < 3) continue;
    if (rest.includes(word)) {
      matched = true;
      rest = rest.split(word).join('');
    }
  }
  return matched && textLength(rest) < minLength;
}

/**
 * The form to hash and to compare: NFKC (NIST SP 800-63B-4 §3.1.1.2), so that the same
 * password typed on keyboards that produce different Unicode sequences (composed `é` or `e` +
 * combining accent, full-width digits) hashes the same. Nothing is trimmed or removed. Use it at
 * login too; {@link passwordSchema} outputs this form.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Why a password is refused (see {@link checkPassword}). */
export type PasswordProblem =
  | 'too-short'
  | 'too-long'
  | 'control-characters'
  | 'unpaired-surrogate'
  | 'common'
  | 'context';

/** Options of {@link passwordSchema} and {@link checkPassword}. */
export interface PasswordOptions {
  /**
   * Minimum length in Unicode code points, after NFKC. NIST SP 800-63B-4: 15 when the password
   * is the only factor; 8 is allowed for applications that require a second factor.
   * @default 15
   */
  minLength?: number;
  /**
   * Maximum length in Unicode code points, after NFKC; at least 64 (NIST requires accepting
   * 64). Longer inputs are refused with a message, never truncated.
   * @default 256
   */
  maxLength?: number;
  /** The blocklist to check. @default the shipped list (`createPasswordBlocklist()`) */
  blocklist?: PasswordBlocklist;
  /** Extra words to refuse, added to `blocklist` (e.g. your product's name). */
  blockedWords?: readonly string[];
  /**
   * Context words the password must not be based on: the username, the email, the service
   * name. For per-user values checked inside an object schema, use {@link passwordContextCheck}.
   */
  context?: readonly string[];
}

interface ResolvedPasswordOptions {
  minLength: number;
  maxLength: number;
  blocklist: PasswordBlocklist;
  context: readonly string[];
}

function resolvePasswordOptions(options: PasswordOptions): ResolvedPasswordOptions {
  const minLength = options.minLength ?? 15;
  const maxLength = options.maxLength ?? 256;
  if (!Number.isInteger(minLength) || minLength < 8) {
    throw new TypeError(`password minLength must be an integer >= 8 (NIST SP 800-63B-4), got ${minLength}`);
  }
  if (!Number.isInteger(maxLength) || maxLength < 64 || maxLength < minLength) {
    throw new TypeError(`password maxLength must be an integer >= 64 and >= minLength, got ${maxLength}`);
  }
  let blocklist = options.blocklist ?? getDefaultBlocklist();
  if (options.blockedWords && options.blockedWords.length > 0) {
    const extra = createPasswordBlocklist(options.blockedWords, { includeDefaults: false });
    const base = blocklist;
    blocklist = { has: (word) => base.has(word) || extra.has(word), size: base.size + extra.size };
  }
  return { minLength, maxLength, blocklist, context: options.context ?? [] };
}

// Control characters (C0, DEL, C1) and bidi embeddings/overrides/isolates cannot be typed
// reliably and are refused rather than silently removed from a secret.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const PASSWORD_CONTROLS = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

const MESSAGES: Record<PasswordProblem, (o: ResolvedPasswordOptions) => string> = {
  'too-short': (o) => `must be at least ${o.minLength} characters`,
  'too-long': (o) => `must be at most ${o.maxLength} characters`,
  'control-characters': () => 'must not contain control characters',
  'unpaired-surrogate': () => UNSTORABLE_MESSAGES['lone-surrogate'],
  common: () => 'is too common or too easy to guess: avoid known passwords, keyboard patterns and repetition',
  context: () => 'must not be based on your username, email address or the name of this service',
};

function problemsOf(password: string, o: ResolvedPasswordOptions): PasswordProblem[] {
  const normalized = normalizePassword(password);
  const length = textLength(normalized);
  const problems: PasswordProblem[] = [];
  if (length < o.minLength) problems.push('too-short');
  if (length > o.maxLength) {
    // The other checks on a huge input would only cost time.
    problems.push('too-long');
    return problems;
  }
  if (PASSWORD_CONTROLS.test(normalized)) problems.push('control-characters');
  // Not text: it has no UTF-8 form, so it would hash as whatever the encoder replaced it with.
  if (findUnstorableCharacter(normalized)?.kind === 'lone-surrogate') problems.push('unpaired-surrogate');
  if (isCommonPassword(normalized, { blocklist: o.blocklist })) problems.push('common');
  else if (o.context.length > 0 && isBasedOnContext(normalized, o.context, o.minLength)) problems.push('context');
  return problems;
}

/**
 * Checks a password against NIST SP 800-63B-4 rules: length in code points after NFKC
 * (15–256 by default), no composition rules (any printable character, spaces included), not
 * common (blocklist and patterns, see {@link isCommonPassword}), not based on context words.
 * Returns the problems with messages; an empty array means acceptable.
 *
 * @example
 * checkPassword('qwertyuiopasdfgh'); // [{ problem: 'common', message: 'is too common ...' }]
 */
export function checkPassword(
  password: string,
  options: PasswordOptions = {},
): { problem: PasswordProblem; message: string }[] {
  const resolved = resolvePasswordOptions(options);
  return problemsOf(password, resolved).map((problem) => ({ problem, message: MESSAGES[problem](resolved) }));
}

/**
 * valibot schema for a new password (sign-up, password change): a string checked as by
 * {@link checkPassword}, whose output is the NFKC-normalized password to hash. Nothing else is
 * changed (no trimming). Bad options throw `TypeError` here, not at parse time.
 *
 * @example
 * const signUp = v.object({ username: usernameSchema, password: passwordSchema({ blockedWords: ['switchboard'] }) });
 * const { password } = parseInput(signUp, input); // hash this
 */
export function passwordSchema(
  options: PasswordOptions = {},
): v.SchemaWithPipe<readonly [v.StringSchema<string>, v.RawTransformAction<string, string>]> {
  const resolved = resolvePasswordOptions(options);
  return v.pipe(
    v.string('must be a string'),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const problems = problemsOf(dataset.value, resolved);
      if (problems.length === 0) return normalizePassword(dataset.value);
      for (const problem of problems) addIssue({ message: MESSAGES[problem](resolved) });
      return NEVER;
    }),
  );
}

/**
 * valibot action for an object schema: refuses a password based on other fields of the same
 * input (username, email), reported on the password's path. Place it after the object.
 *
 * @example
 * const signUp = v.pipe(
 *   v.object({ username: usernameSchema, email: emailSchema, password: passwordSchema() }),
 *   passwordContextCheck({ password: 'password', context: ['username', 'email'], extraWords: ['switchboard'] }),
 * );
 */
export function passwordContextCheck<TInput extends Record<string, unknown>>(options: {
  /** The key of the password field. */
  password: keyof TInput & string;
  /** Keys of the fields the password must not be based on. */
  context: readonly (keyof TInput & string)[];
  /** Constant context words, such as the service name. */
  extraWords?: readonly string[];
  /** As in {@link PasswordOptions.minLength}. @default 15 */
  minLength?: number;
}): v.RawCheckAction<TInput> {
  const minLength = options.minLength ?? 15;
  return v.rawCheck<TInput>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const input = dataset.value;
    const password = input[options.password];
    if (typeof password !== 'string') return;
    const words = options.context
      .map((key): unknown => input[key])
      .filter((value): value is string => typeof value === 'string');
    if (!isBasedOnContext(password, [...words, ...(options.extraWords ?? [])], minLength)) return;
    addIssue({
      message: MESSAGES.context({ minLength, maxLength: 0, blocklist: getDefaultBlocklist(), context: [] }),
      path: [{ type: 'object', origin: 'value', input, key: options.password, value: password }],
    });
  });
}
