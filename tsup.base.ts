import type { Options } from 'tsup';

/**
 * The one build every published package uses: ESM + CJS + declarations for both, targeting the
 * oldest Node we support. Packages pass only their entry points (root plus subpaths).
 */
export function packageBuild(options: { entry: Record<string, string> }): Options {
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
  };
}
