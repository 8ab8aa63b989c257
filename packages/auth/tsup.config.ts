import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

export default defineConfig(
  packageBuild({
    entry: {
      index: 'src/index.ts',
      postgres: 'src/postgres.ts',
      yoga: 'src/yoga.ts',
      express: 'src/express.ts',
      fastify: 'src/fastify.ts',
      graphql: 'src/graphql.ts',
      redis: 'src/redis.ts',
      testing: 'src/testing.ts',
    },
    // ESM-only: Jest and `node --no-experimental-require-module` cannot require() it.
    bundleInCjs: ['jose'],
  }),
);
