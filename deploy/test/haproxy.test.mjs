// deploy/haproxy.cfg: `haproxy -c` accepts it, and run for real (addresses rewritten to local fake
// brokers on free ports) it sends MQTT connections only to nodes whose /readyz answers 200 and
// keeps a connection open when its node turns unready (the broker drains its own clients).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../testing/chart.mjs';

const CONFIG = join(ROOT, 'deploy/haproxy.cfg');
const haproxyAvailable = spawnSync('haproxy', ['-v']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'haproxy-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('haproxy -c accepts deploy/haproxy.cfg', { skip: !haproxyAvailable && 'haproxy not installed' }, () => {
  const r = spawnSync('haproxy', ['-c', '-f', CONFIG], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /Configuration file is valid/);
});

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

/** A fake broker node: its MQTT port greets with its name; its HTTP port answers /readyz. */
async function fakeNode(name) {
  const node = { name, ready: true, sockets: new Set() };
  node.mqtt = createServer((socket) => {
    node.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => node.sockets.delete(socket));
    socket.write(`${name}\n`);
    socket.on('data', (d) => socket.write(`${name}:${d}`));
  });
  node.http = createHttpServer((req, res) => {
    res.statusCode = req.url === '/readyz' && node.ready ? 200 : req.url === '/readyz' ? 503 : 404;
    res.end();
  });
  node.mqttPort = await listen(node.mqtt);
  node.httpPort = await listen(node.http);
  node.close = () => {
    for (const s of node.sockets) s.destroy();
    node.mqtt.close();
    node.http.close();
  };
  return node;
}

async function freePort() {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** Connects through HAProxy and resolves with the greeting (the node's name) and the socket. */
function dial(port) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no greeting within 2 s'));
    }, 2000);
    socket.once('data', (d) => {
      clearTimeout(timer);
      resolve({ name: d.toString().trim(), socket });
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function until(what, fn, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {}
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('HAProxy routes only to ready nodes and keeps connections of a draining node', { skip: !haproxyAvailable && 'haproxy not installed', timeout: 30_000 }, async () => {
  const a = await fakeNode('broker1');
  const b = await fakeNode('broker2');
  const deadPort = await freePort(); // broker3 is down: nothing listens
  const [mqttPort, wsPort, statsPort] = [await freePort(), await freePort(), await freePort()];
  b.ready = false;

  let cfg = readFileSync(CONFIG, 'utf8')
    .replace('bind :1883', `bind 127.0.0.1:${mqttPort}`)
    .replace('bind :8083', `bind 127.0.0.1:${wsPort}`)
    .replace('bind :8404', `bind 127.0.0.1:${statsPort}`)
    .replaceAll('inter 2s', 'inter 100ms')
    .replace(/^(\s*log stdout.*)$/m, '    log stderr format raw local0 info');
  const addr = { broker1: a, broker2: b };
  cfg = cfg.replace(/^(\s*server (broker\d) )broker\d:(\d+)$/gm, (_m, head, name, port) => {
    const node = addr[name];
    if (!node) return `${head}127.0.0.1:${deadPort} port ${deadPort}`;
    const target = port === '1883' ? node.mqttPort : node.mqttPort; // WebSocket backend: same fake
    return `${head}127.0.0.1:${target} port ${node.httpPort}`;
  });
  assert.doesNotMatch(cfg, /^\s*server broker\d broker\d:/m, 'every server line was rewritten');
  const cfgPath = join(tmp, 'haproxy.cfg');
  writeFileSync(cfgPath, cfg);
  const proc = spawn('haproxy', ['-db', '-f', cfgPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  try {
    // HAProxy starts with servers up until a check fails (fall 2): wait for broker2 (unready) and
    // broker3 (nothing listens) to be marked down before dialing. A dial that lands on broker3
    // before that waits out HAProxy's connect retries (1 s each) and misses the 2 s greeting bound:
    // the intermittent CI failure of this test.
    await until('broker2 and broker3 marked down', async () =>
      stderr.includes('brokers_mqtt/broker2 is DOWN') && stderr.includes('brokers_mqtt/broker3 is DOWN'),
    ).catch((e) => {
      throw new Error(`${e.message}; haproxy said:\n${stderr}`);
    });

    const first = [];
    for (let i = 0; i < 10; i++) first.push(await dial(mqttPort));
    assert.deepEqual(new Set(first.map((c) => c.name)), new Set(['broker1']), 'only the ready node gets connections');

    // broker1 starts draining (unready), broker2 becomes ready: new connections go to broker2.
    a.ready = false;
    b.ready = true;
    await until('new connections to go to broker2', async () => {
      const c = await dial(mqttPort);
      c.socket.destroy();
      return c.name === 'broker2';
    });
    const next = await dial(mqttPort);
    assert.equal(next.name, 'broker2');
    next.socket.destroy();

    // The connection opened before the drain is still served by broker1.
    const kept = first[0].socket;
    const echoed = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo within 3 s')), 3000);
      kept.once('data', (d) => {
        clearTimeout(timer);
        resolve(d.toString());
      });
      kept.once('close', () => reject(new Error('HAProxy closed the connection of the draining node')));
    });
    kept.write('ping');
    assert.equal(await echoed, 'broker1:ping');
    for (const c of first) c.socket.destroy();
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    a.close();
    b.close();
  }
});
