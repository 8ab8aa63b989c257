// Before/after proof for a package's benchmark: runs the package's own bench against a base
// commit and against the working tree, alternating processes (base, new, base, new, ...), and
// reports every number of its tables as the median over the runs of each side, with the change.
//
//   node scripts/bench-ab.mjs <package> [--base <git ref>] [--runs <n>] [--json <file>]
//   node scripts/bench-ab.mjs <package> --from <directory of an earlier run's outputs>
//   node scripts/bench-ab.mjs <package> --telemetry [--runs <n>]
//
// --telemetry: both sides are the working tree, the "new" one with BENCH_TELEMETRY=on (the
// bench turns OpenTelemetry on for its package, see tools/bench/src/telemetry.ts), so each
// number's change is what turning telemetry on costs.
//
// Why alternate whole processes: the benches already interleave our code and the peer inside one
// process, so a table's ratio column is robust to a slow minute; running base and new back to
// back, several times, and comparing medians is what separates a real change from the machine's
// drift. The base is checked out in a git worktree under the temp directory whose node_modules
// reuses this checkout's third-party packages but points every @switchboard/* name at the base's
// own folders, so the base bench imports the base build.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { root, workspaces } from './workspaces.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    base: { type: 'string' },
    runs: { type: 'string', default: '3' },
    json: { type: 'string' },
    from: { type: 'string' },
    telemetry: { type: 'boolean', default: false },
  },
});
const [only] = positionals;
if (values.telemetry && values.base !== undefined) {
  process.stderr.write('bench-ab: --telemetry compares the working tree with itself (off, then on): no --base\n');
  process.exit(2);
}
const runs = Number(values.runs);
if (!only || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write(
    'usage: node scripts/bench-ab.mjs <package> [--base <git ref> | --telemetry] [--runs <n>] [--json <file>]\n',
  );
  process.exit(2);
}

const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
const target = workspaces().find(({ manifest }) => manifest.name === only || manifest.name.endsWith(`/${only}`));
if (!target?.manifest.scripts?.bench) {
  process.stderr.write(`bench-ab: no workspace named '${only}' has a bench script\n`);
  process.exit(2);
}
const baseSha = git('rev-parse', '--verify', `${values.base ?? 'HEAD'}^{commit}`);
const baseRoot = join(tmpdir(), `switchboard-bench-base-${baseSha.slice(0, 12)}`);
const targetPath = relative(root, target.dir);

const tables = { base: [], new: [] };
if (values.from) {
  // Report again from the outputs of an earlier run (e.g. after changing how tables are read).
  for (const file of readdirSync(values.from).sort()) {
    const side = file.startsWith('base-') ? 'base' : file.startsWith('new-') ? 'new' : undefined;
    if (side) tables[side].push(parseTables(readFileSync(join(values.from, file), 'utf8')));
  }
  process.stdout.write(`${formatReport(compareSides(tables.base, tables.new))}\n`);
  process.exit(0);
}

const benchCommand = benchOf(target.manifest.scripts.bench);
build(root);
if (!values.telemetry) {
  prepareBase();
  build(baseRoot);
}

// Every run's own output (the tables as the bench printed them), for the README and the commit note.
const rawDir = mkdtempSync(join(tmpdir(), `switchboard-bench-ab-${only.replace(/\W/g, '-')}-`));
for (let run = 1; run <= runs; run++) {
  for (const side of ['base', 'new']) {
    const cwd = join(side === 'base' && !values.telemetry ? baseRoot : root, targetPath);
    const telemetry = values.telemetry && side === 'new' ? 'on' : 'off';
    process.stderr.write(`run ${run}/${runs} ${side} (${cwd}${values.telemetry ? `, telemetry ${telemetry}` : ''})\n`);
    const result = spawnSync(benchCommand.command, benchCommand.args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        BENCH_TELEMETRY: telemetry,
        PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}`,
      },
    });
    if (result.status !== 0) {
      process.stderr.write(result.stdout);
      process.stderr.write(`bench-ab: the ${side} bench failed (exit ${result.status})\n`);
      process.exit(1);
    }
    tables[side].push(parseTables(result.stdout));
    writeFileSync(join(rawDir, `${side}-${run}.md`), result.stdout);
  }
}

const report = compareSides(tables.base, tables.new);
process.stdout.write(
  values.telemetry
    ? `${target.manifest.name}: working tree, telemetry off (base) vs on (new), median of ${runs} alternating runs each\n\n`
    : `${target.manifest.name}: base ${baseSha.slice(0, 12)} vs working tree, median of ${runs} alternating runs each\n\n`,
);
process.stdout.write(`${formatReport(report)}\n\nEach run's output: ${rawDir}\n`);
if (values.json) {
  const compared = values.telemetry ? { telemetry: 'off vs on', commit: git('rev-parse', 'HEAD') } : { base: baseSha };
  writeFileSync(values.json, `${JSON.stringify({ ...compared, runs, rows: report }, null, 2)}\n`);
}

/** A worktree of the base commit whose node_modules resolves @switchboard/* to the base's folders. */
function prepareBase() {
  if (!existsSync(baseRoot)) git('worktree', 'add', '--detach', baseRoot, baseSha);
  const modules = join(baseRoot, 'node_modules');
  if (!existsSync(modules)) {
    mkdirSync(modules);
    for (const entry of readdirSync(join(root, 'node_modules'))) {
      if (entry === '@switchboard') continue;
      symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
    }
    mkdirSync(join(modules, '@switchboard'));
  }
  for (const { dir, manifest } of workspaces()) {
    const baseDir = join(baseRoot, relative(root, dir));
    const link = join(modules, manifest.name);
    if (!existsSync(baseDir) || existsSync(link)) continue;
    symlinkSync(baseDir, link);
    // A workspace's own nested node_modules (versions that could not be hoisted) comes along too.
    const nested = join(dir, 'node_modules');
    if (existsSync(nested) && !existsSync(join(baseDir, 'node_modules')) && lstatSync(nested).isDirectory()) {
      symlinkSync(nested, join(baseDir, 'node_modules'));
    }
  }
}

/** `npm run build --silent && tsx bench/x.ts` → the part after the build (each side is built once). */
function benchOf(script) {
  const tail = script.split('&&').pop().trim().split(/\s+/);
  return { command: tail[0], args: tail.slice(1) };
}

/** Builds the target package and every published workspace it depends on, in one tree. */
function build(treeRoot) {
  const names = new Set(Object.keys({ ...target.manifest.dependencies, ...target.manifest.devDependencies }));
  const dirs = workspaces()
    .filter(({ manifest }) => !manifest.private && (names.has(manifest.name) || manifest.name === target.manifest.name))
    .map(({ dir }) => join(treeRoot, relative(root, dir)));
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    process.stderr.write(`build ${dir}\n`);
    const result = spawnSync(join(root, 'node_modules/.bin/tsup'), ['--silent'], { cwd: dir, stdio: 'inherit' });
    if (result.status !== 0) process.exit(1);
  }
}

/** Every markdown table in a bench's output, as rows of cells under their header. */
function parseTables(output) {
  const found = [];
  let current;
  for (const line of output.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    const cells = line
      .slice(1, line.endsWith('|') ? -1 : undefined)
      .split('|')
      .map((cell) => cell.trim());
    if (!current) {
      current = { header: cells, rows: [] };
      found.push(current);
    } else if (!cells.every((cell) => /^:?-+:?$/.test(cell))) {
      current.rows.push(cells);
    }
  }
  return found;
}

/** '1,234' → 1234, '1.41×' → 1.41, '0.88 ms' → 0.88; labels → undefined. */
function numberIn(cell) {
  const text = cell
    .replaceAll('*', '')
    .replaceAll(',', '')
    .replace(/\s*(×|x|%|ms|µs|ns)$/, '');
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
}

function median(list) {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Pairs each numeric cell of the base's tables with the same cell of the new tables (by table, row label, column). */
function compareSides(baseRuns, newRuns) {
  const cells = new Map();
  const collect = (side, runTables) => {
    runTables.forEach((table, tableIndex) => {
      for (const row of table.rows) {
        // The first cell names the row even when it is a number (a depth, a size); the other
        // words of the row (the implementation) complete the name.
        const label = [row[0], ...row.slice(1).filter((cell) => numberIn(cell) === undefined && cell !== '')].join(
          ' / ',
        );
        row.forEach((cell, column) => {
          const value = column === 0 ? undefined : numberIn(cell);
          if (value === undefined) return;
          // By header, not position: a bench that gained a column or a table still pairs the rest.
          const key = `${table.header[0]}\u0000${label}\u0000${table.header[column] ?? column}`;
          const entry = cells.get(key) ?? {
            table: tableIndex + 1,
            row: label,
            column: table.header[column] ?? String(column),
            ratio: /÷|ratio|×/.test(table.header[column] ?? '') || /×$/.test(cell),
            base: [],
            new: [],
          };
          entry[side].push(value);
          cells.set(key, entry);
        });
      }
    });
  };
  for (const run of baseRuns) collect('base', run);
  for (const run of newRuns) collect('new', run);
  return [...cells.values()]
    .filter((entry) => entry.base.length > 0 && entry.new.length > 0)
    .map((entry) => {
      const before = median(entry.base);
      const after = median(entry.new);
      return { ...entry, baseMedian: before, newMedian: after, change: before === 0 ? 0 : after / before - 1 };
    });
}

/** Four significant digits: a median of two runs is their mean, with float noise in its last digits. */
function tidy(value) {
  return Number(value.toPrecision(4));
}

function formatReport(rows) {
  const lines = [
    '| table | row | column | base (median) | new (median) | change |',
    '| ---: | --- | --- | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const change = `${row.change >= 0 ? '+' : ''}${(row.change * 100).toFixed(1)} %`;
    const flag = row.ratio && Math.abs(row.change) > 0.05 ? ' ⚠' : '';
    lines.push(
      `| ${row.table} | ${row.row} | ${row.column} | ${tidy(row.baseMedian)} | ${tidy(row.newMedian)} | ${change}${flag} |`,
    );
  }
  return lines.join('\n');
}
