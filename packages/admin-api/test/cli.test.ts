import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { PacketType } from '@mqtt-broker/mqtt-codec';
import { runMqttctl } from '../src/index.js';
import { type Fixture, mqttClient, publishes, startFixture } from './support.js';

const BIN = fileURLToPath(new URL('../src/mqttctl.js', import.meta.url));

async function ctl(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runMqttctl(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

describe('mqttctl against a real admin server', () => {
  let f: Fixture;
  let s: string[];
  before(async () => {
    f = await startFixture('edge-1');
    s = ['--server', f.address];
  });
  after(async () => {
    await f.close();
  });

  it('status prints a table of nodes; --json prints the response', async () => {
    const human = await ctl([...s, 'status']);
    assert.equal(human.code, 0, human.err);
    const [header, row] = human.out.trim().split('\n');
    assert.match(header, /^NODE\s+VERSION\s+NODEJS\s+WEBSOCKET\s+UPTIME\s+CONNECTIONS/);
    assert.match(row, /^edge-1\s+9\.9\.9\s+v24\.0\.0\s+uws\s+\d+s\s+\d+/);
    const json = await ctl([...s, '--json', 'status']);
    const [node] = JSON.parse(json.out).nodes;
    assert.deepEqual([node.id, node.runtime, node.websocketEngine], ['edge-1', 'v24.0.0', 'uws']);
  });

  it('MQTTCTL_SERVER sets the server when --server is not given', async () => {
    const r = await ctl(['--json', 'status'], { MQTTCTL_SERVER: f.address });
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).nodes[0].id, 'edge-1');
  });

  it('clients lists connected clients, --prefix filters, --limit pages', async () => {
    for (const id of ['cli-b', 'cli-a', 'cli-c', 'zzz']) await mqttClient(f.broker, id, 4, [['t', 0]]);
    const r = await ctl([...s, 'clients', '--prefix', 'cli-']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0], /^CLIENT ID\s+NODE\s+CONNECTED\s+ADDRESS\s+PROTOCOL/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5)), [
      ['cli-a', 'edge-1', 'yes', '10.0.0.7:50000', '3.1.1'],
      ['cli-b', 'edge-1', 'yes', '10.0.0.7:50000', '3.1.1'],
      ['cli-c', 'edge-1', 'yes', '10.0.0.7:50000', '3.1.1'],
    ]);
    const limited = await ctl([...s, '--json', 'clients', '--prefix', 'cli-', '--limit', '2']);
    const parsed = JSON.parse(limited.out) as { clients: Array<{ clientId: string }>; more: boolean };
    assert.deepEqual(parsed.clients.map((c) => c.clientId), ['cli-a', 'cli-b']);
    assert.equal(parsed.more, true);
  });

  it('client <id> shows the client and its subscriptions; unknown ids exit 1 with NOT_FOUND', async () => {
    await mqttClient(f.broker, 'detail-1', 5, [['d/+/x', 1]]);
    const r = await ctl([...s, 'client', 'detail-1']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /client id:\s+detail-1/);
    assert.match(r.out, /protocol:\s+5\.0/);
    assert.match(r.out, /d\/\+\/x\s+detail-1\s+edge-1\s+1/);
    const missing = await ctl([...s, 'client', 'nobody']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /NOT_FOUND/);
  });

  it('kick disconnects the client with 0x98; --discard-session ends its session', async () => {
    const c = await mqttClient(f.broker, 'kick-cli', 5, [['k', 1]], true);
    c.take();
    const r = await ctl([...s, 'kick', 'kick-cli']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'disconnected kick-cli on edge-1');
    assert.equal(c.expect(PacketType.DISCONNECT).reasonCode, 0x98);
    const d = await ctl([...s, 'kick', 'kick-cli', '--discard-session']);
    assert.equal(d.out.trim(), 'kick-cli was not connected (node edge-1); session discarded');
    assert.equal((await ctl([...s, 'client', 'kick-cli'])).code, 1);
  });

  it('subs lists subscriptions by prefix', async () => {
    await mqttClient(f.broker, 'subs-cli', 4, [['plant/1/#', 2], ['plant/2/+', 0]]);
    const r = await ctl([...s, 'subs', '--prefix', 'plant/']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 4)), [
      ['plant/1/#', 'subs-cli', 'edge-1', '2'],
      ['plant/2/+', 'subs-cli', 'edge-1', '0'],
    ]);
  });

  it('publish delivers to a subscriber; retained get and delete', async () => {
    const sub = await mqttClient(f.broker, 'pub-cli-sub', 5, [['news/#', 1]]);
    const r = await ctl([...s, 'publish', 'news/today', 'hello world', '--qos', '1', '-u', 'a=b', '--retain']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'published to news/today: 1 matching subscription');
    const [got] = publishes(sub);
    assert.equal(got.payload.toString(), 'hello world');
    assert.equal(got.qos, 1);
    assert.deepEqual(got.properties?.userProperties, [['a', 'b']]);

    const byTopic = await ctl([...s, 'retained', 'get', 'news/today']);
    assert.equal(byTopic.code, 0, byTopic.err);
    assert.match(byTopic.out, /news\/today\s+1\s+11\s+-\s+hello world/);
    const byFilter = await ctl([...s, '--json', 'retained', 'get', 'news/+']);
    const messages = (JSON.parse(byFilter.out) as { messages: Array<{ topic: string; payload: { utf8: string; base64: string } }> }).messages;
    assert.deepEqual(messages.map((m) => [m.topic, m.payload.utf8, m.payload.base64]), [['news/today', 'hello world', Buffer.from('hello world').toString('base64')]]);

    const del = await ctl([...s, 'retained', 'delete', 'news/today']);
    assert.equal(del.out.trim(), 'deleted the retained message on news/today');
    assert.equal((await ctl([...s, 'retained', 'delete', 'news/today'])).out.trim(), 'nothing was retained on news/today');
    const gone = await ctl([...s, 'retained', 'get', 'news/today']);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /NOT_FOUND/);
  });

  it('bad usage exits 2; an invalid topic is INVALID_ARGUMENT (exit 1)', async () => {
    assert.equal((await ctl([...s, 'publish', 'x', 'y', '--qos', '3'])).code, 2);
    assert.equal((await ctl([...s, 'frobnicate'])).code, 2);
    const bad = await ctl([...s, 'publish', 'a/#', 'y']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /INVALID_ARGUMENT/);
  });

  it('the installed bin (dist/src/mqttctl.js) finds its .proto and talks to the server', async () => {
    const child = spawn(process.execPath, [BIN, '--json', 'status'], { env: { PATH: process.env.PATH ?? '', MQTTCTL_SERVER: f.address }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0);
    assert.equal(JSON.parse(out).nodes[0].id, 'edge-1');
  });
});

describe('mqttctl without a server', () => {
  it('--version and --help exit 0', async () => {
    const v = await ctl(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
    const h = await ctl(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /retained/);
  });

  it('says it cannot reach the admin API and exits 1', async () => {
    const r = await ctl(['--server', '127.0.0.1:1', '--timeout', '2000', 'status']);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot reach the admin API at 127\.0\.0\.1:1/);
  });
});
