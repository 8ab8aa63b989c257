import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type CheckedBlock, extractBlocks, structureProblems, typecheckBlocks } from '../scripts/readme-code.mjs';

const fence = '```';

describe('extractBlocks', () => {
  test('finds ts blocks with their fence line, marks partial ones, and dedents blocks inside lists', () => {
    const text = [
      '# pkg', // 1
      `${fence}sh`, // 2
      'npm install pkg',
      fence,
      `${fence}ts`, // 5
      "import { a } from 'pkg';",
      fence,
      '- a list item:',
      '',
      `  ${fence}ts partial`, // 10
      '  const x = a;',
      `  ${fence}`,
      `${fence}${fence[0]}md`, // 13: a four-backtick block that shows a ts block is not one
      `${fence}ts`,
      'not code',
      fence,
      `${fence}${fence[0]}`,
      '~~~typescript', // 18
      'let y = 1;',
      '~~~',
    ].join('\n');
    const blocks = extractBlocks(text, 'README.md');
    expect(blocks.map(({ line, partial, code }) => ({ line, partial, code }))).toEqual([
      { line: 5, partial: false, code: "import { a } from 'pkg';\n" },
      { line: 10, partial: true, code: 'const x = a;\n' },
      { line: 18, partial: false, code: 'let y = 1;\n' },
    ]);
  });
});

describe('structureProblems', () => {
  const good = [
    '# @switchboard/cache',
    '',
    'One line.',
    '',
    `${fence}sh`,
    'npm install @switchboard/cache',
    fence,
    '',
    `${fence}ts`,
    'code',
    fence,
    '',
    '## Contributing',
    '',
    '`npm run bench -w @switchboard/cache` in the monorepo.',
  ].join('\n');

  test('a README with its install line first and monorepo commands under Contributing passes', () => {
    expect(structureProblems(good, 'cache')).toEqual([]);
  });

  test('refuses a missing or late install line, monorepo commands in the body, and issue numbers', () => {
    expect(structureProblems(good.replace('npm install @switchboard/cache', 'npm install'), 'cache')).toEqual([
      'no `npm install @switchboard/cache` line before the first ts block',
    ]);
    const late = good.replace('npm install @switchboard/cache', '').replace('code', 'npm install @switchboard/cache');
    expect(structureProblems(late, 'cache')).toHaveLength(1);
    const bench = good.replace('One line.', 'One line. `npm run bench -w @switchboard/cache`, see issue #21.');
    expect(structureProblems(bench, 'cache')).toEqual([
      '`npm run bench -w @switchboard/cache` works only in the monorepo: move it to a "## Contributing" note at the end',
      'internal issue number: "issue #21"',
    ]);
  });
});

describe('typecheckBlocks', () => {
  test('checks every block in one program, strictly, and reports errors at their README line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'readme-code-test-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n'); // as the script's work dir
    try {
      const block = (line: number, code: string): CheckedBlock => {
        const path = join(dir, `block-${line}.ts`);
        writeFileSync(path, code);
        return { file: join(process.cwd(), 'README.md'), line, partial: false, code, path, errors: [] };
      };
      const blocks = [
        block(10, 'const port: number = Number(process.env.PORT ?? 4000);\nexport { port };\n'),
        // exactOptionalPropertyTypes: an optional property does not take `undefined`.
        block(
          20,
          'const options: { secret?: string } = {};\nconst more: { secret?: string } = { secret: process.env.SECRET };\nexport { options, more };\n',
        ),
        // strict: a possibly undefined value is not read unchecked.
        block(30, "const users = new Map([['ada', { id: 'u1' }]]);\nexport const id: string = users.get('ada').id;\n"),
      ];
      expect(await typecheckBlocks(blocks, process.cwd())).toEqual([]);
      expect(blocks[0]?.errors).toEqual([]);
      expect(blocks[1]?.errors).toHaveLength(1);
      expect(blocks[1]?.errors[0]).toMatch(/^README\.md:22:7 TS2375: /);
      expect(blocks[2]?.errors).toHaveLength(1);
      expect(blocks[2]?.errors[0]).toMatch(/^README\.md:32:\d+ TS2532: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000); // one TypeScript program: a few seconds on a shared machine
});
