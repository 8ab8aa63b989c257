import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Sibling packages resolve to their TypeScript sources (the `@switchboard/source` export
// condition), so tests never need a build first. `ssr` because Node tests resolve as SSR.
// `graphql` resolves to the file Node itself loads (index.js): vite would otherwise pick its
// `module` build for our sources while graphql-yoga and @graphql-tools, loaded natively, get
// index.js, and two graphql instances reject each other's schemas and errors. No `module`
// condition (vite's default has it): packages such as @opentelemetry/* point it at ESM builds
// for bundlers, with extensionless imports that Node cannot load.
const sourceConditions = {
  ssr: { resolve: { conditions: ['@switchboard/source', 'node', 'development|production'] } },
  resolve: {
    alias: [
      { find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url)) },
    ],
  },
};

const testFiles = [
  'packages/*/{src,test}/**/*.test.ts',
  'examples/*/{src,test}/**/*.test.ts',
  'tools/*/{src,test}/**/*.test.ts',
  'test/**/*.test.ts',
];

export default defineConfig({
  test: {
    // In CI also a JSON report, from which .ci/run prints a plain 'N passed, N failed' line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
    projects: [
      {
        ...sourceConditions,
        test: {
          name: 'unit',
          include: testFiles,
          exclude: [
            '**/node_modules/**',
            '**/*.int.test.ts',
            '**/*.chaos.test.ts',
            '**/*.cluster.test.ts',
            '**/*.load.test.ts',
            '**/*.browser.test.ts',
          ],
        },
      },
      {
        // Real Postgres replicas and Redis Sentinel, one shared topology started once.
        ...sourceConditions,
        test: {
          name: 'integration',
          include: testFiles.map((glob) => glob.replace('*.test.ts', '*.int.test.ts')),
          globalSetup: [fileURLToPath(new URL('./tools/infra/src/vitest-setup.ts', import.meta.url))],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Tests that kill, pause or delay servers: each starts its own topology, one file at a
        // time, so they never disturb the shared one or each other.
        ...sourceConditions,
        test: {
          name: 'chaos',
          include: testFiles.map((glob) => glob.replace('*.test.ts', '*.chaos.test.ts')),
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The chat server as a cluster (its own topology, several server processes): run alone
        // with `npm run test:cluster`, and by `npm test`.
        ...sourceConditions,
        test: {
          name: 'cluster',
          include: testFiles.map((glob) => glob.replace('*.test.ts', '*.cluster.test.ts')),
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 90_000,
        },
      },
      {
        // The load harness end to end (tools/load): it builds the server if needed and starts its
        // own servers (the built server, as production runs it), one file at a time. Short, low
        // rates: these check correctness and the JSON, never speed.
        ...sourceConditions,
        test: {
          name: 'load',
          include: testFiles.map((glob) => glob.replace('*.test.ts', '*.load.test.ts')),
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        // A real Chromium (Debian's, driven by playwright-core) against the chat page the
        // example server serves, over the shared topology; one file at a time.
        ...sourceConditions,
        test: {
          name: 'browser',
          include: testFiles.map((glob) => glob.replace('*.test.ts', '*.browser.test.ts')),
          globalSetup: [fileURLToPath(new URL('./tools/infra/src/vitest-setup.ts', import.meta.url))],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
