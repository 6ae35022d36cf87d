/**
 * README.md's commands work on a fresh copy of the repository (issue 12) and print what it says.
 *
 * The README marks each command block with an HTML comment the reader does not see:
 * - `<!-- readme-test: start -->` the "Get going" block: its `npm ci && npm start` is run as
 *   written in a copy of the repository without node_modules or dist (what `git clone` gives: the
 *   tracked files and the new ones git does not ignore), until the node answers /readyz; its other
 *   line must be `npm test` (this suite: not run from within itself);
 * - `<!-- readme-test: transcript -->` a terminal session: `$ command` lines are run in order
 *   (those ending in `&` in the background, a second given after each as a person typing would),
 *   each must exit 0, and the lines under a command must appear in what it (or a background
 *   command) printed: a `<name>` token stands for any one word (a node id, an uptime);
 * - `<!-- readme-test: cluster -->` the local cluster: every line is started in the background,
 *   with Redis's port 6379 replaced by a free one (the one change the test makes), and the next
 *   transcript runs against those nodes once they answer /readyz.
 * Every sh or console block in README.md must carry a mark, so a command added without one fails
 * here. Before the cluster, the single node is stopped with SIGINT (Ctrl-C in its terminal).
 * The README's ports are the defaults (1883, 8083, 9090, 9100, and 1884/9091/9101 for the second
 * node): the test fails, naming the port, when one of them is taken on this machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, httpStatus, type ManagedProcess, sleep, startProcess, tcpOpen, waitUntil } from '@mqtt-broker/test-support';

const repo = new URL('../../../../', import.meta.url).pathname;
const README_PORTS = [1883, 8083, 9090, 9100, 1884, 9091, 9101];

interface Block {
  mark: string;
  lang: string;
  lines: string[];
}

/** The fenced sh / console blocks of a Markdown file with the readme-test mark before each. */
function blocks(markdown: string): Block[] {
  const found: Block[] = [];
  const fence = /(?:<!-- readme-test: (\w+) -->\n)?```(\w*)\n([\s\S]*?)```/g;
  for (const m of markdown.matchAll(fence)) {
    if (m[2] !== 'sh' && m[2] !== 'console') continue;
    found.push({ mark: m[1] ?? '', lang: m[2], lines: m[3].split('\n').filter((l) => l.trim() !== '') });
  }
  return found;
}

/** A command line without its trailing `# comment`. */
function command(line: string): string {
  return line.replace(/\s+#\s.*$/, '').trim();
}

/** Whether an output line is the expected one (`<word>` matches any one word). */
function lineMatches(expected: string, actual: string): boolean {
  const e = expected.trim().split(/\s+/);
  const a = actual.trim().split(/\s+/);
  return e.length === a.length && e.every((w, i) => (/^<[a-z-]+>$/.test(w) ? a[i] !== '' : w === a[i]));
}

/** The expected lines not found (each output line used once). */
function unmatched(expected: string[], output: string): string[] {
  const pool = output.split('\n');
  const left: string[] = [];
  for (const e of expected) {
    const i = pool.findIndex((a) => lineMatches(e, a));
    if (i < 0) left.push(e);
    else pool.splice(i, 1);
  }
  return left;
}

/** A copy of the repository as a clone has it: tracked and untracked-not-ignored files only. */
function freshCopy(): string {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' });
  assert.equal(listed.status, 0, `git ls-files: ${listed.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'readme-'));
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(repo, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(repo, file), join(dir, file));
  }
  return dir;
}

/**
 * The environment of a user's terminal: without what `npm test` adds for its scripts (npm_*
 * variables, among them the prefix that would point npm at this repository instead of the copy,
 * and node_modules/.bin in PATH); npm takes packages from its cache when they are there and
 * prints no audit or funding lines.
 */
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  env.PATH = (env.PATH ?? '')
    .split(':')
    .filter((d) => !d.includes('node_modules'))
    .join(':');
  return { ...env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

const skip = spawnSync('git', ['rev-parse'], { cwd: repo }).status === 0 ? false : 'not a git checkout';

describe('README.md commands on a fresh copy of the repository', { skip, timeout: 420_000 }, () => {
  const running: ManagedProcess[] = [];
  let dir = '';
  const env = userEnvironment();

  after(async () => {
    await Promise.all(running.map((p) => p.stop(3000)));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a command line in its own process group (so it and what it starts stop together). */
  function background(line: string): ManagedProcess {
    const p = startProcess('bash', ['-c', line], { cwd: dir, env, group: true });
    running.push(p);
    return p;
  }

  /** Runs a transcript block; `what` names it in failures. */
  async function transcript(block: Block, what: string): Promise<void> {
    const steps: Array<{ line: string; expect: string[] }> = [];
    for (const l of block.lines) {
      if (l.startsWith('$ ')) steps.push({ line: l.slice(2), expect: [] });
      else steps.at(-1)?.expect.push(l);
    }
    const jobs: ManagedProcess[] = [];
    const jobOutput = () => jobs.map((j) => j.stdout()).join('\n');
    for (const step of steps) {
      const line = command(step.line);
      if (line.endsWith('&')) {
        jobs.push(background(line.slice(0, -1)));
        await sleep(1000);
        continue;
      }
      const exec = () => spawnSync('bash', ['-c', line], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
      let run = exec();
      assert.equal(run.status, 0, `${what}: \`${line}\` exited ${run.status ?? run.signal}:\n${run.stderr}${run.stdout}`);
      // what a background command prints may come a moment later; the cluster's view in mqttctl
      // converges as the nodes see each other (read-only: asking again is what a user does)
      let left = unmatched(step.expect, `${run.stdout}\n${jobOutput()}`);
      const again = line.startsWith('npx mqttctl ');
      if (left.length > 0) {
        await waitUntil(
          async () => {
            if (again) {
              await sleep(500);
              run = exec();
            }
            return (left = unmatched(step.expect, `${run.stdout}\n${jobOutput()}`)).length === 0;
          },
          10_000,
          'output',
        ).catch(() => {});
      }
      assert.deepEqual(left, [], `${what}: \`${line}\` did not print these lines; it printed:\n${run.stdout}\nbackground:\n${jobOutput()}`);
    }
    for (const j of jobs) {
      await Promise.race([j.gone, sleep(10_000)]);
      assert.equal(j.exitValue, 0, `${what}: a background command exited ${j.exitValue}:\n${j.output()}`);
    }
  }

  it('start, talk to the node, stop it, run a local cluster: every command exits 0 and prints what the README says', async () => {
    const readme = blocks(readFileSync(join(repo, 'README.md'), 'utf8'));
    assert.deepEqual(
      readme.filter((b) => b.mark === '').map((b) => b.lines[0]),
      [],
      'every sh/console block of README.md carries a readme-test mark',
    );
    for (const port of README_PORTS) assert.equal(await tcpOpen(port), false, `port ${port} (one of the README's defaults) is taken on this machine`);
    const [start, ...rest] = readme;
    assert.equal(start.mark, 'start', 'the first block is the Get going one');
    assert.deepEqual(start.lines.map(command), ['npm ci && npm start', 'npm test'], 'Get going: two commands');

    dir = freshCopy();
    const node = background(command(start.lines[0]));
    await waitUntil(async () => node.exited || (await httpStatus(9090, '/readyz')) === 200, 300_000, '/readyz after npm ci && npm start');
    assert.equal(node.exited, false, `npm ci && npm start exited:\n${node.output().slice(-4000)}`);

    let n = 0;
    let i = 0;
    for (; i < rest.length && rest[i].mark === 'transcript'; i++) await transcript(rest[i], `transcript ${++n}`);

    // Ctrl-C in the node's terminal
    node.signal('SIGINT');
    await Promise.race([node.gone, sleep(15_000)]);
    assert.equal(node.exited, true, 'the node stops on Ctrl-C (SIGINT) within DRAIN_SECONDS (10) + 5 s');

    assert.equal(rest[i]?.mark, 'cluster', 'the cluster block follows the single-node transcripts');
    const redisPort = await freePort();
    const lines = rest[i].lines.map((l) => command(l).replaceAll('6379', String(redisPort)));
    for (const line of lines) {
      assert.ok(line.endsWith('&'), `cluster: \`${line}\` runs in the background`);
      const p = background(line.slice(0, -1));
      if (line.startsWith('redis-server')) await waitUntil(async () => p.exited || (await tcpOpen(redisPort)), 10_000, 'redis-server');
      assert.equal(p.exited, false, `cluster: \`${line}\` exited:\n${p.output()}`);
    }
    const httpPorts = lines.filter((l) => l.includes('mqtt-broker')).map((l) => Number(/HTTP_PORT=(\d+)/.exec(l)?.[1] ?? 9090));
    assert.equal(httpPorts.length, 2, 'two nodes');
    await waitUntil(async () => (await Promise.all(httpPorts.map((p) => httpStatus(p, '/readyz')))).every((s) => s === 200), 30_000, 'both nodes ready');
    for (i++; i < rest.length && rest[i].mark === 'transcript'; i++) await transcript(rest[i], `transcript ${++n} (cluster)`);
    assert.equal(i, rest.length, `unexpected block after the cluster: ${rest[i]?.mark}`);
  });
});
