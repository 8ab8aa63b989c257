// Stands in for a root script whose part has not been built yet: says so, exits non-zero.
const [script, what] = process.argv.slice(2);
process.stderr.write(`npm run ${script}: not available yet; it arrives with ${what}.\n`);
process.exit(1);
