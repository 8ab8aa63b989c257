import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

const root = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(root, 'dist');
const sourceDir = resolve(root, 'src');

/**
 * `new URL('../../migrations', import.meta.url)` means "relative to this source file". Bundled,
 * every module would share the bundle's URL and those paths would move; so each of our modules
 * gets an `import.meta.url` that names its source file, computed from the bundle's own URL (the
 * built server only needs dist/ and migrations/ side by side, as in the checkout).
 */
const sourceRelativeImportMeta: EsbuildPlugin = {
  name: 'source-relative-import-meta',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(`${sourceDir}/`)) return undefined;
      const contents = await readFile(args.path, 'utf8');
      if (!contents.includes('import.meta.url')) return { contents, loader: 'ts' };
      const fromBundle = JSON.stringify(relative(outDir, args.path));
      return {
        contents: contents.replaceAll('import.meta.url', `new URL(${fromBundle}, import.meta.url).href`),
        loader: 'ts',
      };
    });
  },
};

/**
 * The server as production runs it: plain ESM for Node, our code in one file per entry point;
 * every dependency (the Switchboard packages included) stays external, so Node loads the
 * packages' built `dist` through their `import` condition, never their sources.
 */
export default defineConfig({
  entry: { main: 'src/main.ts', migrate: 'src/migrate.ts', admin: 'src/admin.ts' },
  outDir: 'dist',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  splitting: true,
  dts: false,
  esbuildPlugins: [sourceRelativeImportMeta],
});
