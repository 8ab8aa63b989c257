// The pieces of check-readme-code.mjs that its tests exercise: finding the TypeScript blocks of
// a README, what a package README must say before its code, and the typecheck of the blocks.
import { relative, resolve } from 'node:path';

/** Fenced ```ts blocks (also indented ones inside lists), with the line of their fence. */
export function extractBlocks(text, file) {
  const lines = text.split('\n');
  const blocks = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)(.*)$/.exec(lines[index]);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = index + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    if (['ts', 'typescript', 'mts'].includes(lang.toLowerCase())) {
      const body = lines
        .slice(index + 1, end)
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
      const code = `${body.join('\n')}\n`;
      blocks.push({
        file,
        line: index + 1,
        partial: rest.trim().split(/\s+/).includes('partial'),
        // NestJS code: TypeScript's legacy decorators, which Node's type stripping cannot run.
        decorators: /^\s*@[A-Za-z_$][\w$]*\(/m.test(code),
        code,
      });
    }
    index = end;
  }
  return blocks;
}

/** What the README of package `name` owes a user: an install line before its code, no monorepo-only commands. */
export function structureProblems(text, name) {
  const problems = [];
  const install = text.indexOf(`npm install @switchboard/${name}`);
  const firstCode = text.search(/^\s*```ts/m);
  if (install === -1 || (firstCode !== -1 && install > firstCode)) {
    problems.push(`no \`npm install @switchboard/${name}\` line before the first ts block`);
  }
  const contributing = text.search(/^## Contributing$/m);
  const body = contributing === -1 ? text : text.slice(0, contributing);
  for (const command of body.match(/npm run [^\s`]+ -w [^\s`]+|npm run -w [^\s`]+/g) ?? []) {
    problems.push(`\`${command}\` works only in the monorepo: move it to a "## Contributing" note at the end`);
  }
  for (const mention of text.match(/\bissue #?\d+/gi) ?? []) problems.push(`internal issue number: "${mention}"`);
  return problems;
}

/**
 * Typechecks the blocks (each written to `block.path` beforehand) in one program, as a user's
 * ESM project would; each block's errors go to `block.errors` with README lines. Returns the
 * diagnostics that belong to no block.
 */
export async function typecheckBlocks(blocks, root) {
  const { default: ts } = await import('typescript');
  const plain = blocks.filter((block) => !block.decorators);
  const decorated = blocks.filter((block) => block.decorators);
  return [
    ...(plain.length > 0 ? typecheckProgram(ts, plain, root, {}) : []),
    // As a Nest project compiles: legacy decorators with their metadata; the app is transpiled
    // (see `transpileDecorated`) rather than type-stripped, so any TypeScript syntax may appear.
    ...(decorated.length > 0
      ? typecheckProgram(ts, decorated, root, {
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          verbatimModuleSyntax: false,
          erasableSyntaxOnly: false,
        })
      : []),
  ];
}

/** A decorated block as JavaScript Node can run (what tsc would emit), next to its .ts file. */
export async function transpileDecorated(block) {
  const { default: ts } = await import('typescript');
  const { outputText } = ts.transpileModule(block.code, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.ESNext,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    },
    fileName: block.path,
  });
  return outputText;
}

function typecheckProgram(ts, blocks, root, overrides) {
  const options = {
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    moduleDetection: ts.ModuleDetectionKind.Force,
    types: ['node'],
    strict: true,
    exactOptionalPropertyTypes: true,
    // What Node's type stripping needs to run a block as it is.
    verbatimModuleSyntax: true,
    erasableSyntaxOnly: true,
    skipLibCheck: true,
    noEmit: true,
    ...overrides,
  };
  const program = ts.createProgram(
    blocks.map((block) => block.path),
    options,
  );
  const byPath = new Map(blocks.map((block) => [block.path, block]));
  const other = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
    const block = diagnostic.file && byPath.get(resolve(diagnostic.file.fileName));
    if (!block) {
      const where = diagnostic.file
        ? `${relative(root, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: `
        : '';
      other.push(`${where}TS${diagnostic.code}: ${message}`);
      continue;
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    block.errors.push(
      `${relative(root, block.file)}:${block.line + 1 + line}:${character + 1} TS${diagnostic.code}: ${message}`,
    );
  }
  return other;
}
