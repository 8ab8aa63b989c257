import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

export default defineConfig(
  packageBuild({
    entry: { index: 'src/index.ts', graphql: 'src/graphql.ts', yoga: 'src/yoga.ts' },
    // CommonJS itself, but it requires the ESM-only htmlparser2 (and its dom* and entities).
    bundleInCjs: ['sanitize-html'],
  }),
);
