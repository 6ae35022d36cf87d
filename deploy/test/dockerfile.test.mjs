// deploy/Dockerfile, read statically (no Docker daemon here): the stages and instructions the
// issue asks for, and the HEALTHCHECK one-liner run for real against a local /healthz.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../testing/chart.mjs';

const text = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
// Instructions with continuation lines joined and comments dropped.
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
const stages = [];
for (const ins of instructions) {
  if (ins.op === 'FROM') stages.push({ from: ins.args, ins: [] });
  else stages.at(-1)?.ins.push(ins);
}
const runtime = stages.at(-1);
const find = (stage, op) => stage.ins.filter((i) => i.op === op);

test('multi-stage build on Node.js 24 (trixie: glibc 2.38+ for uWebSockets.js): npm ci, build, prune dev dependencies and foreign uWS binaries', () => {
  assert.match(text, /^ARG NODE_IMAGE=node:24-trixie-slim$/m);
  assert.ok(stages.length >= 3);
  for (const s of stages) assert.match(s.from, /^\$\{NODE_IMAGE\}/);
  const build = stages.find((s) => / AS build$/i.test(s.from));
  const runs = find(build, 'RUN')
    .map((i) => i.args)
    .join('\n');
  assert.match(runs, /npm ci/);
  assert.match(runs, /npm run build/);
  assert.match(runs, /npm prune --omit=dev && node scripts\/prune-uws-binaries\.mjs/);
  // The runtime stage copies only what the build stage assembled (dist, node_modules, manifests).
  const copies = find(runtime, 'COPY');
  assert.ok(copies.length > 0 && copies.every((c) => c.args.includes('--from=build')));
});

test('runtime: tini as init, non-root numeric user, ports, OCI labels, CMD runs the broker', () => {
  const entry = JSON.parse(find(runtime, 'ENTRYPOINT')[0].args);
  assert.equal(entry[0], '/usr/bin/tini');
  assert.match(find(runtime, 'RUN').map((i) => i.args).join(' '), /apt-get install -y --no-install-recommends tini/);
  const [user] = find(runtime, 'USER');
  assert.match(user.args, /^[1-9]\d*:[1-9]\d*$/, 'numeric non-root uid:gid (runAsNonRoot can verify it)');
  const ports = find(runtime, 'EXPOSE')
    .flatMap((i) => i.args.split(/\s+/))
    .map(Number)
    .sort((a, b) => a - b);
  assert.deepEqual(ports, [1883, 8083, 8084, 8883, 9090, 9100]);
  const labels = find(runtime, 'LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses']) {
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), key);
  }
  assert.match(labels, /image\.base\.name="docker\.io\/library\/node:24-trixie-slim"/);
  assert.deepEqual(JSON.parse(find(runtime, 'CMD')[0].args), ['node', 'services/broker/dist/src/main.js']);
  // `npm start` runs the `mqtt-broker` bin, whose committed shim imports the same built entry point.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.match(pkg.scripts.start, /&& mqtt-broker$/, 'npm start runs the mqtt-broker bin');
  const broker = JSON.parse(readFileSync(join(ROOT, 'services/broker/package.json'), 'utf8'));
  const shim = readFileSync(join(ROOT, 'services/broker', broker.bin['mqtt-broker']), 'utf8');
  assert.match(shim, /'\.\.\/dist\/src\/main\.js'/, 'same entry point as npm start');
});

function healthcheckScript() {
  const [hc] = find(runtime, 'HEALTHCHECK');
  const json = hc.args.slice(hc.args.indexOf('CMD') + 3).trim();
  const argv = JSON.parse(json);
  assert.equal(argv[0], 'node', 'no curl in the slim image');
  assert.equal(argv[1], '-e');
  return argv[2];
}

function runHealthcheck(port) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', healthcheckScript()], {
      env: { ...process.env, HTTP_PORT: String(port) },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test('the HEALTHCHECK command exits 0 on /healthz 200, 1 on 503 or nothing listening', async () => {
  let status = 200;
  const paths = [];
  const server = createServer((req, res) => {
    paths.push(req.url);
    res.statusCode = status;
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  try {
    assert.equal(await runHealthcheck(port), 0);
    status = 503;
    assert.equal(await runHealthcheck(port), 1);
    assert.deepEqual(paths, ['/healthz', '/healthz']);
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.equal(await runHealthcheck(port), 1);
});

test('.dockerignore keeps everything the build needs', () => {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const p of ['**/node_modules', '**/dist', '.git']) assert.ok(patterns.includes(p), p);
  const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.base.json', 'packages', 'services', 'load-tests', 'scripts'];
  for (const p of patterns) {
    for (const n of needed) assert.notEqual(p.replace(/^\*\*\//, ''), n, `${p} would exclude ${n}`);
    assert.ok(!/^\*\*\/(src|test)$/.test(p), `${p} would exclude sources`);
  }
});
