import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.ts';

export default defineConfig(
  packageBuild({
    entry: {
      index: 'src/index.ts',
      redis: 'src/redis.ts',
      graphql: 'src/graphql.ts',
      yoga: 'src/yoga.ts',
      express: 'src/express.ts',
      fastify: 'src/fastify.ts',
      testing: 'src/testing.ts',
    },
  }),
);
