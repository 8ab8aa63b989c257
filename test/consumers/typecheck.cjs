// Typechecks consumer configurations the way `tsc -p --noEmit` does, but reports only the
// diagnostics of the consumer's own files and of the @switchboard packages' declaration files
// (those checked in full, as with `skipLibCheck: false`). Third-party declarations are not ours
// to fix, and checking all of them (graphql-yoga's tree) costs a minute per configuration.
//   node typecheck.cjs <typescript package dir> <tsconfig.json>...
// For each configuration prints `### <tsconfig>` and then `file(line,col): error TSnnnn: message`
// lines (paths relative to the cwd). One process per compiler: parsed declaration files are
// shared between its configurations.
const { relative } = require('node:path');

const [typescriptDir, ...configFiles] = process.argv.slice(2);
const ts = require(typescriptDir);

const formatHost = {
  getCanonicalFileName: (fileName) => fileName,
  getCurrentDirectory: () => process.cwd(),
  getNewLine: () => '\n',
};
const parsed = new Map();

function check(configFile) {
  let fatal;
  const config = ts.getParsedCommandLineOfConfigFile(configFile, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      fatal = diagnostic;
    },
  });
  if (!config) return [fatal];
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (fileName, languageVersionOrOptions, ...rest) => {
    // Only declaration files are shared; the key holds what changes how a file parses.
    if (!fileName.endsWith('.d.ts') && !fileName.endsWith('.d.cts') && !fileName.endsWith('.d.mts')) {
      return getSourceFile(fileName, languageVersionOrOptions, ...rest);
    }
    const options = typeof languageVersionOrOptions === 'object' ? languageVersionOrOptions : {};
    const key = `${fileName}\0${options.languageVersion ?? languageVersionOrOptions}\0${options.impliedNodeFormat}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile(fileName, languageVersionOrOptions, ...rest));
    return parsed.get(key);
  };
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
  const ours = (fileName) =>
    config.fileNames.includes(fileName) || /[/\\]node_modules[/\\]@switchboard[/\\]/.test(fileName);
  return [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program
      .getSourceFiles()
      .filter((sourceFile) => ours(sourceFile.fileName))
      .flatMap((sourceFile) => [
        ...program.getSyntacticDiagnostics(sourceFile),
        ...program.getSemanticDiagnostics(sourceFile),
      ]),
  ].filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
}

for (const configFile of configFiles) {
  process.stdout.write(`### ${configFile}\n`);
  for (const diagnostic of check(configFile)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file && diagnostic.start !== undefined) {
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const file = relative(formatHost.getCurrentDirectory(), diagnostic.file.fileName);
      process.stdout.write(`${file}(${line + 1},${character + 1}): error TS${diagnostic.code}: ${message}\n`);
    } else {
      process.stdout.write(`error TS${diagnostic.code}: ${message}\n`);
    }
  }
}
