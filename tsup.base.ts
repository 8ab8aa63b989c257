import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Plugin as EsbuildPlugin, build as esbuild } from 'esbuild';
import type { Options } from 'tsup';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The one build every published package uses: ESM + CJS + declarations for both, targeting the
 * oldest Node we support. Packages pass only their entry points (root plus subpaths).
 *
 * `bundleInCjs`: dependencies the CJS build carries inside it, with everything they pull in,
 * because they are ESM-only (or CommonJS that requires ESM-only code) and Jest's CommonJS runtime
 * and `node --no-experimental-require-module` cannot `require()` ESM. The ESM build keeps them
 * as ordinary dependencies. `scripts/check-bundled-audit.mjs` audits what ends up bundled.
 */
export function packageBuild(options: { entry: Record<string, string>; bundleInCjs?: string[] }): Options {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;
  const bundleInCjs = options.bundleInCjs ?? [];
  for (const name of bundleInCjs) {
    // A peer is the user's own instance (graphql above all): a private copy would split it in two.
    if (manifest.peerDependencies?.[name] !== undefined || !manifest.dependencies?.[name])
      throw new Error(`${manifest.name}: bundleInCjs lists ${name}, which is not a (non-peer) dependency`);
  }
  const optionalPeers = Object.keys(manifest.peerDependencies ?? {}).filter(
    (name) => manifest.peerDependenciesMeta?.[name]?.optional === true,
  );
  return {
    entry: options.entry,
    format: ['esm', 'cjs'],
    target: 'node22',
    platform: 'node',
    // TS 6 deprecates the `baseUrl` tsup injects into the declaration build (TS5101).
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    sourcemap: true,
    clean: true,
    // Shared chunks: subpath entries (e.g. ./yoga) use the same module instances as the root.
    splitting: true,
    treeshake: true,
    // tsup would mark these external before any of our plugins sees them; the plugins below decide.
    noExternal: [...bundleInCjs, ...optionalPeers],
    esbuildPlugins: [optionalPeerGuard(manifest.name, options.entry, optionalPeers), keepExternalInEsm(bundleInCjs)],
    plugins: [
      visiblePeerRequires(optionalPeers),
      ...(bundleInCjs.length > 0 ? [bundledCodeNotices()] : []),
      oneSourceMapComment(),
    ],
  };
}

const isCjsBuild = (initialOptions: { define?: Record<string, string> | undefined }) =>
  initialOptions.define?.TSUP_FORMAT === '"cjs"';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function keepExternalInEsm(packages: string[]): EsbuildPlugin {
  return {
    name: 'switchboard-keep-external-in-esm',
    setup(build) {
      if (packages.length === 0 || isCjsBuild(build.initialOptions)) return;
      const filter = new RegExp(`^(?:${packages.map(escapeRegExp).join('|')})(?:/|$)`);
      build.onResolve({ filter }, (args) => ({ path: args.path, external: true }));
    },
  };
}

/**
 * Which optional peers each entry loads at run time (type-only imports are erased), from a quick
 * bundle of our own sources with every package left external.
 */
async function peersByEntry(entry: Record<string, string>, peers: string[]): Promise<Map<string, string[]>> {
  const result = await esbuild({
    entryPoints: entry,
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    outdir: 'peer-scan',
    logLevel: 'silent',
  });
  const users = new Map<string, string[]>();
  for (const output of Object.values(result.metafile.outputs)) {
    if (!output.entryPoint) continue;
    const name = Object.entries(entry).find(([, file]) => resolve(file) === resolve(output.entryPoint as string))?.[0];
    if (name === undefined) continue;
    for (const { path } of output.imports) {
      const known = users.get(path) ?? [];
      if (peers.includes(path) && !known.includes(name)) users.set(path, [...known, name]);
    }
  }
  return users;
}

const PEER_NAMESPACE = 'switchboard-optional-peer';

/**
 * In the CJS build, an optional peer that a subpath loads at run time is reached through a small
 * module that turns "not installed" into one line naming the package to install; the peer itself
 * stays external (one instance: the user's). The ESM build keeps a plain static import: ESM links
 * every import before any code runs, so only a top-level `await import()` could intercept it, and
 * a top-level await in a library breaks users who bundle to CommonJS (esbuild refuses it), and
 * `require()` of the module. There Node's own one-line error names the package
 * (`Cannot find package 'graphql' imported from …/dist/graphql.js`).
 */
function optionalPeerGuard(packageName: string, entry: Record<string, string>, peers: string[]): EsbuildPlugin {
  return {
    name: 'switchboard-optional-peer-guard',
    setup(build) {
      if (peers.length === 0) return;
      const filter = new RegExp(`^(?:${peers.map(escapeRegExp).join('|')})(?:/|$)`);
      if (!isCjsBuild(build.initialOptions)) {
        build.onResolve({ filter }, (args) => ({ path: args.path, external: true }));
        return;
      }
      let users: Promise<Map<string, string[]>> | undefined;
      build.onResolve({ filter }, (args) => {
        if (args.namespace === PEER_NAMESPACE || !peers.includes(args.path) || args.importer.includes('node_modules'))
          return { path: args.path, external: true };
        return { path: args.path, namespace: PEER_NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: PEER_NAMESPACE }, async (args) => {
        users ??= peersByEntry(entry, peers);
        const subpaths = [...((await users).get(args.path) ?? [])]
          .sort()
          .map((name) => (name === 'index' ? packageName : `${packageName}/${name}`));
        const who = subpaths.length === 0 ? packageName : subpaths.join(' and ');
        const message = `${who} need${subpaths.length > 1 ? '' : 's'} ${args.path}: npm install ${args.path}`;
        const missing = `/^Cannot find (?:module|package) '${escapeRegExp(args.path)}'/`;
        const explain = `(error) => {
  if ((error?.code === 'MODULE_NOT_FOUND' || error?.code === 'ERR_MODULE_NOT_FOUND') && ${missing}.test(error.message)) {
    const missingPeer = new Error(${JSON.stringify(message)});
    missingPeer.code = 'ERR_SWITCHBOARD_MISSING_PEER';
    throw missingPeer;
  }
  throw error;
}`;
        return {
          loader: 'js',
          contents: `let peer;\ntry {\n  peer = require(${JSON.stringify(args.path)});\n} catch (error) {\n  (${explain})(error);\n}\nmodule.exports = peer;\n`,
        };
      });
    },
  };
}

/**
 * tsup builds CJS through an ESM pass, where esbuild turns the guard's `require(peer)` into its
 * own `__require(peer)` helper. Writing it back as `require(peer)` keeps it visible to bundlers
 * and to tools that trace a package's requires.
 */
function visiblePeerRequires(peers: string[]) {
  const call = new RegExp(`(?:\\b[\\w$]+\\.)?__require\\(("(?:${peers.map(escapeRegExp).join('|')})")\\)`, 'g');
  return {
    name: 'switchboard-visible-peer-requires',
    renderChunk(this: { format: string }, code: string) {
      if (this.format !== 'cjs' || peers.length === 0) return undefined;
      return { code: code.replace(call, 'require($1)') };
    },
  };
}

/**
 * tsup's tree-shaking pass appends a second `//# sourceMappingURL=` comment to every file it
 * rewrites (the same map twice); after the build, each file keeps one.
 */
function oneSourceMapComment() {
  return {
    name: 'switchboard-one-source-map-comment',
    buildEnd({ writtenFiles }: { writtenFiles: { name: string }[] }) {
      for (const { name } of writtenFiles) {
        if (!/\.c?js$/.test(name)) continue;
        const code = readFileSync(name, 'utf8');
        const deduped = code.replace(/(\n\/\/# sourceMappingURL=[^\n]+)(?:\n\/\/# sourceMappingURL=[^\n]+)+/g, '$1');
        if (deduped !== code) writeFileSync(name, deduped);
      }
    },
  };
}

/** The directory and manifest of the installed package a bundled file came from. */
function owningPackage(file: string): { dir: string; name: string; version: string; license: string } | undefined {
  const marker = '/node_modules/';
  const at = file.lastIndexOf(marker);
  if (at === -1) return undefined;
  const rest = file.slice(at + marker.length).split('/');
  const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] as string);
  const dir = file.slice(0, at + marker.length) + name;
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; license?: string };
  return { dir, name, version: manifest.version, license: manifest.license ?? 'UNKNOWN' };
}

/**
 * After the CJS build: a THIRD-PARTY-NOTICES.md in dist with the license text of every package
 * the build bundled, and source maps that keep our own sources but not theirs (their code is
 * bundled for loading, not for stepping through; it would multiply the maps' size).
 */
function bundledCodeNotices() {
  return {
    name: 'switchboard-bundled-code-notices',
    buildEnd(
      this: { format: string; options: { outDir?: string } },
      { writtenFiles }: { writtenFiles: { name: string }[] },
    ) {
      if (this.format !== 'cjs') return;
      const bundled = new Map<string, NonNullable<ReturnType<typeof owningPackage>>>();
      for (const { name } of writtenFiles) {
        if (!name.endsWith('.cjs.map')) continue;
        const map = JSON.parse(readFileSync(name, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
        map.sources.forEach((source, index) => {
          const owner = owningPackage(resolve(dirname(name), source));
          if (!owner) return;
          bundled.set(`${owner.name}@${owner.version}`, owner);
          if (map.sourcesContent) map.sourcesContent[index] = null;
        });
        writeFileSync(name, JSON.stringify(map));
      }
      const sections = [...bundled.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((owner) => {
          const licenseFile = readdirSync(owner.dir).find((file) => /^(licen[cs]e|copying)/i.test(file));
          const text = licenseFile
            ? readFileSync(join(owner.dir, licenseFile), 'utf8').trim()
            : `License: ${owner.license}`;
          return `## ${owner.name}@${owner.version} (${owner.license})\n\n\`\`\`\n${text}\n\`\`\``;
        });
      const outDir = this.options.outDir ?? 'dist';
      writeFileSync(
        join(outDir, 'THIRD-PARTY-NOTICES.md'),
        `# Third-party code in the CommonJS build\n\nThe \`.cjs\` files bundle the packages below (the ESM build imports them as dependencies).\n\n${sections.join('\n\n')}\n`,
      );
    },
  };
}
