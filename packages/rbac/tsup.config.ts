import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

export default defineConfig(
  packageBuild({
    entry: {
      index: 'src/index.ts',
      postgres: 'src/postgres.ts',
      graphql: 'src/graphql.ts',
      redis: 'src/redis.ts',
      testing: 'src/testing.ts',
    },
  }),
);
