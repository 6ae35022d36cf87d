import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  ExitedBeforeReadyError,
  freePort,
  freePorts,
  httpStatus,
  metricsText,
  metricValue,
  onFreshPorts,
  redisCli,
  startProcess,
  startRedis,
  startRedisCluster,
  tcpOpen,
  WaitTimeoutError,
  waitReady,
  waitUntil,
} from '../src/index.js';

describe('ports and waits', () => {
  it('freePort gives a bindable port; freePorts distinct ones', async () => {
    const port = await freePort();
    assert.ok(port > 0);
    assert.equal(await tcpOpen(port), false);
    const ports = await freePorts(3);
    assert.equal(new Set(ports).size, 3);
  });

  it('waitUntil resolves once the condition holds and times out naming it', async () => {
    let n = 0;
    const took = await waitUntil(() => ++n >= 3, 2000, 'third poll');
    assert.ok(took >= 0);
    assert.equal(n, 3);
    await assert.rejects(waitUntil(() => false, 100, 'never'), (e: unknown) => e instanceof WaitTimeoutError && e.what === 'never');
  });

  it('http probes: status, metrics text and a sample value', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/metrics') res.end('# HELP x\nmqtt_x_total{peer="a"} 7\nmqtt_y 3\n');
      else res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      assert.equal(await httpStatus(port, '/readyz'), 503);
      const text = await metricsText(port);
      assert.equal(metricValue(text, 'mqtt_x_total', '{peer="a"}'), 7);
      assert.equal(metricValue(text, 'mqtt_y'), 3);
      assert.equal(metricValue(text, 'mqtt_x_total', '{peer="b"}'), 0);
    } finally {
      server.close();
    }
    assert.equal(await httpStatus(port, '/readyz'), 0);
  });
});

describe('processes', () => {
  it('a child that exits before ready fails fast with its output; a port clash is retried on fresh ports', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as AddressInfo).port;
    const listen = "require('node:net').createServer().listen(Number(process.argv[1]), '127.0.0.1', () => console.log('up'))";
    let attempts = 0;
    try {
      const proc = await onFreshPorts(async () => {
        attempts++;
        const port = attempts === 1 ? takenPort : await freePort();
        const p = startProcess(process.execPath, ['-e', listen, String(port)]);
        await waitReady(p, async () => p.stdout().includes('up'), `listener on ${port}`, { timeoutMs: 10_000 });
        return p;
      });
      assert.equal(attempts, 2);
      assert.equal(await proc.stop(), 'SIGTERM');
      assert.equal(proc.exited, true);
    } finally {
      taken.close();
    }
    const bad = startProcess(process.execPath, ['-e', 'console.error("boom"); process.exit(3)']);
    await assert.rejects(
      waitReady(bad, async () => false, 'bad child'),
      (e: unknown) => e instanceof ExitedBeforeReadyError && e.exitValue === 3 && e.output.includes('boom') && !e.portClash,
    );
  });
});

describe('redis harness', { timeout: 60_000 }, () => {
  it('startRedis answers PING, restarts empty on the same port', async () => {
    const redis = await startRedis();
    try {
      assert.equal((await redisCli(redis.port, 'SET', 'k', 'v')).trim(), 'OK');
      await redis.kill();
      assert.equal(redis.exited, true);
      await redis.restart();
      assert.equal((await redisCli(redis.port, 'EXISTS', 'k')).trim(), '0');
    } finally {
      await redis.stop();
    }
  });

  it('startRedisCluster: three masters covering every slot', async () => {
    const cluster = await startRedisCluster();
    try {
      assert.equal(cluster.nodes.length, 3);
      const info = await redisCli(cluster.nodes[0].port, 'CLUSTER', 'INFO');
      assert.match(info, /cluster_slots_assigned:16384/);
      assert.match(info, /cluster_known_nodes:3/);
    } finally {
      await cluster.stop();
    }
  });
});
