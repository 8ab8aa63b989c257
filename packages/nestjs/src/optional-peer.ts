/**
 * Loading an optional peer (the Switchboard packages, graphql) that may not be installed: only
 * "this very package is missing" counts as absent; any other failure, inside a package that is
 * installed, is thrown as it is.
 */
const isNotInstalled = (error: unknown, name: string) => {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return false;
  // The CommonJS build reaches optional peers through a guard that names the one missing.
  if (code === 'ERR_SWITCHBOARD_MISSING_PEER') return message.includes(` needs ${name}: `);
  // Only the package itself missing: a failure inside an installed one must be seen.
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    (message.startsWith(`Cannot find module '${name}'`) || message.startsWith(`Cannot find package '${name}'`))
  );
};

// tsup defines it per build; undefined when the sources run as they are (tests).
declare const TSUP_FORMAT: string | undefined;

/**
 * True in the CommonJS build. There peers are loaded with `require`: Jest's CommonJS runtime (Nest
 * 11's default test setup) refuses `import()` without --experimental-vm-modules. Each loader
 * names its package literally, so bundlers and the build's optional-peer guard see it.
 */
const isCommonJsBuild = typeof TSUP_FORMAT !== 'undefined' && TSUP_FORMAT === 'cjs';

/** `load(() => require('x'), () => import('x'))`: the loader of the build that runs. */
export function load<T>(commonJs: () => T, esm: () => Promise<T>): () => Promise<T> {
  return isCommonJsBuild ? async () => commonJs() : esm;
}

export async function ifInstalled<T>(name: string, load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch (error) {
    if (isNotInstalled(error, name)) return undefined;
    throw error;
  }
}
