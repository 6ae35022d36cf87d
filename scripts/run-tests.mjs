// Runs every compiled test file (`<workspace>/dist/test/**/*.test.js`) and the plain-JavaScript
// deployment tests (`deploy/test/*.test.mjs`) with Node's built-in test runner, so `npm test`
// prints node:test's own summary. Extra arguments are passed to `node --test` (for example
// `--test-name-pattern`); TEST_FILTER=substring runs only the files whose path contains it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder } from './files-under.mjs';

const root = new URL('..', import.meta.url).pathname;
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const collect = (dir) => filesUnder(dir, (name) => name.endsWith('.test.js') || name.endsWith('.test.mjs'));

const filter = process.env.TEST_FILTER ?? '';
const files = workspaces
  .flatMap((ws) => collect(join(root, ws, 'dist', 'test')))
  .concat(collect(join(root, 'deploy', 'test')))
  .filter((f) => f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error('no test files found; did `tsc -b` run?');
  process.exit(1);
}
// CI runs the suite under two Node.js versions: say which one this is.
console.log(`running ${files.length} test files with Node.js ${process.version}`);
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=180000', ...process.argv.slice(2), ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
