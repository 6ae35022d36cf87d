// One forked process of the rate/ramp mode (rate-run.ts). It owns the connections whose global
// index i satisfies i % workers === worker, opens each at its ramp slot (startAt + rampS * i / N)
// with at most `connectConcurrency` handshakes outstanding, and publishes its share of the target
// rate: a 1 ms timer sends what is due since the start (so a late tick catches up instead of
// lowering the rate), one message per publisher in turn, each stamped with the wall clock
// (performance.timeOrigin + now(), epoch ms as a double) just before it is written. Subscribers,
// in whichever worker, read the stamp: all workers share the machine's clock. Every second goes
// to the coordinator as counters plus a latency histogram (rate-histogram.ts).

import { BenchClient } from './bench-client.js';
import { publishPayloadOffset } from './frame-scanner.js';
import { encodePublish, type PublishTemplate } from './packets.js';
import { LatencyHistogram } from './rate-histogram.js';
import type { RateOptions, RateWorkerReply, RateWorkerRequest, WorkerSecond } from './rate-types.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nowMs = (): number => performance.timeOrigin + performance.now();

interface Publisher {
  client: BenchClient;
  template: PublishTemplate;
  nextId: number;
  inflight: number;
}

interface Second {
  /** Connections open when the second ended (when the next one began). */
  connections: number;
  published: number;
  delivered: number;
  acked: number;
  hist: LatencyHistogram;
}

const clients: BenchClient[] = [];
let closing = false;
let timer: NodeJS.Timeout | undefined;

function reply(m: RateWorkerReply): void {
  process.send?.(m);
}

async function run(o: RateOptions, worker: number, workers: number, startAt: Promise<number>): Promise<void> {
  const seconds = new Map<number, Second>();
  const errors = new Set<string>();
  let open = 0;
  let connected = 0;
  let failed = 0;
  let dropped = 0;
  let firstConnectMs = Number.POSITIVE_INFINITY;
  let lastConnackMs = 0;
  let published = 0;
  let skipped = 0;
  let attempted = 0;
  let lastT = -1;
  const pubs: Publisher[] = [];
  // known once every worker's subscribers are subscribed (the coordinator then sends 'start')
  let startAtMs = Number.POSITIVE_INFINITY;
  let endMs = Number.POSITIVE_INFINITY;

  const second = (t: number): Second => {
    let s = seconds.get(t);
    if (s === undefined) {
      s = { connections: -1, published: 0, delivered: 0, acked: 0, hist: new LatencyHistogram() };
      seconds.set(t, s);
    }
    return s;
  };
  const tNow = (): number => Math.max(0, Math.floor((nowMs() - startAtMs) / 1000));
  const flush = (t: number, s: Second): void => {
    const out: WorkerSecond = { t, published: s.published, delivered: s.delivered, acked: s.acked, hist: s.hist.pairs() };
    reply({ type: 'second', second: out, connections: s.connections < 0 ? open : s.connections });
    seconds.delete(t);
  };

  const onPublish = (header: number, buf: Buffer, start: number, end: number): void => {
    const now = nowMs();
    const s = second(Math.max(0, Math.floor((now - startAtMs) / 1000)));
    s.delivered++;
    const at = publishPayloadOffset(header, buf, start, o.version);
    if (end - at >= 8) s.hist.record((now - buf.readDoubleBE(at)) * 1000);
  };

  const role = (i: number): 'sub' | 'pub' | 'idle' =>
    i < o.subscribers ? 'sub' : i < o.subscribers + o.publishers ? 'pub' : 'idle';

  const openOne = async (i: number): Promise<void> => {
    const r = role(i);
    const loopback = o.host.startsWith('127.');
    let pub: Publisher | undefined;
    if (r !== 'sub') firstConnectMs = Math.min(firstConnectMs, nowMs());
    try {
      const client = await BenchClient.connect(
        {
          host: o.host,
          port: o.ports[i % o.ports.length],
          clientId: `${o.clientPrefix}-${i}`,
          version: o.version,
          keepaliveSeconds: o.keepaliveS,
          ...(loopback ? { localAddress: `127.0.${2 + (i & 63)}.${1 + ((i >> 6) & 127)}` } : {}),
          ...(r === 'sub' ? { onPublish } : {}),
          ...(r === 'pub'
            ? {
                onPuback: () => {
                  if (pub !== undefined && pub.inflight > 0) pub.inflight--;
                  second(tNow()).acked++;
                },
              }
            : {}),
        },
        10_000,
      );
      clients.push(client);
      open++;
      client.onClose(() => {
        open--;
        if (!closing) {
          dropped++;
          if (errors.size < 3 && client.closeReason !== undefined) errors.add(client.closeReason);
        }
      });
      if (r === 'sub') await client.subscribe(`${o.topicRoot}/p/#`, o.qos);
      if (r === 'pub') {
        const payload = Buffer.alloc(Math.max(8, o.payloadBytes), 0x61);
        const template = encodePublish(`${o.topicRoot}/p/${i}`, payload, o.qos === 0 ? 0 : 1, o.version);
        if (o.qos === 2) template.frame[0] = 0x34; // same layout as QoS 1: packet id, then payload
        pub = { client, template, nextId: 1, inflight: 0 };
        pubs.push(pub);
      }
      connected++;
      if (r !== 'sub') lastConnackMs = nowMs();
    } catch (err) {
      failed++;
      if (errors.size < 3) errors.add((err as Error).message);
    }
  };

  // Publishing and the per-second report share one 1 ms timer.
  const myPublishers = Array.from({ length: o.publishers }, (_, k) => o.subscribers + k).filter((i) => i % workers === worker).length;
  const myRate = o.publishers > 0 ? (o.rate * myPublishers) / o.publishers : 0;
  let turn = 0;
  const tick = (): void => {
    const now = nowMs();
    const t = Math.max(0, Math.floor((now - startAtMs) / 1000));
    if (t > lastT) {
      for (const [k, s] of seconds) if (k < t && s.connections < 0) s.connections = open;
      second(t);
      for (const [k, s] of seconds) if (k < t - 1) flush(k, s);
      lastT = t;
    }
    if (now < startAtMs || now >= endMs || myRate === 0) return;
    const due = Math.floor(((now - startAtMs) / 1000) * myRate) - attempted;
    if (due <= 0) return;
    attempted += due;
    const s = second(t);
    for (let k = 0; k < due; k++) {
      let p: Publisher | undefined;
      for (let tries = 0; tries < pubs.length; tries++) {
        const c = pubs[turn++ % pubs.length];
        if (!c.client.closed && (o.qos === 0 || c.inflight < Math.min(o.window, c.client.serverReceiveMaximum))) {
          p = c;
          break;
        }
      }
      if (p === undefined) {
        skipped++;
        continue;
      }
      const frame = Buffer.from(p.template.frame);
      if (o.qos > 0) {
        frame.writeUInt16BE(p.nextId, p.template.packetIdOffset);
        p.nextId = p.nextId === 65_535 ? 1 : p.nextId + 1;
        if (o.qos === 1) p.inflight++;
      }
      frame.writeDoubleBE(nowMs(), p.template.payloadOffset);
      p.client.write(frame);
      published++;
      s.published++;
    }
  };
  // Subscribers first, all of them before any message is published, so that every message is
  // expected at every subscriber.
  const mine: number[] = [];
  for (let i = worker; i < o.connections; i += workers) mine.push(i);
  const subs = mine.filter((i) => role(i) === 'sub');
  for (let k = 0; k < subs.length; k += o.connectConcurrency) await Promise.all(subs.slice(k, k + o.connectConcurrency).map(openOne));
  reply({ type: 'subscribed' });
  startAtMs = await startAt;
  endMs = startAtMs + (o.rampS + o.durationS) * 1000;
  timer = setInterval(tick, 1);

  // The ramp: the other connections, the j-th of them at startAt + rampS * j / (N - subscribers).
  while (nowMs() < startAtMs) await sleep(Math.min(50, startAtMs - nowMs()));
  const rest = Math.max(1, o.connections - o.subscribers);
  let pending = 0;
  let slot: (() => void) | null = null;
  const all: Array<Promise<void>> = [];
  for (const i of mine) {
    if (role(i) === 'sub') continue;
    const at = startAtMs + (o.rampS * 1000 * (i - o.subscribers)) / rest;
    const wait = at - nowMs();
    if (wait > 1) await sleep(wait);
    while (pending >= o.connectConcurrency) await new Promise<void>((r) => (slot = r));
    pending++;
    all.push(
      openOne(i).finally(() => {
        pending--;
        const s = slot;
        slot = null;
        s?.();
      }),
    );
    if (closing || nowMs() > endMs + 30_000) break;
  }
  await Promise.all(all);

  // Run to the end, then let deliveries and PUBACKs drain (until quiet for 300 ms, at most 3 s).
  while (!closing && nowMs() < endMs) await sleep(Math.min(100, endMs - nowMs()));
  const drainEnd = nowMs() + 3_000;
  let last = -1;
  let quietSince = nowMs();
  while (!closing && nowMs() < drainEnd) {
    let sum = 0;
    for (const s of seconds.values()) sum += s.delivered + s.acked;
    const inflight = pubs.reduce((a, p) => a + p.inflight, 0);
    if (sum !== last) {
      last = sum;
      quietSince = nowMs();
    } else if (nowMs() - quietSince > 300 && inflight === 0) break;
    await sleep(50);
  }
  clearInterval(timer);
  for (const [t, s] of [...seconds].sort((a, b) => a[0] - b[0])) flush(t, s);
  reply({
    type: 'done',
    connected,
    failed,
    dropped,
    firstConnectMs: Number.isFinite(firstConnectMs) ? firstConnectMs : startAtMs,
    lastConnackMs: Math.max(lastConnackMs, Number.isFinite(firstConnectMs) ? firstConnectMs : startAtMs),
    published,
    skipped,
    errors: [...errors],
  });
}

function closeAll(): void {
  closing = true;
  clearInterval(timer);
  for (const c of clients) c.destroy();
}

let started: (at: number) => void = () => {};
const startAt = new Promise<number>((resolve) => (started = resolve));

process.on('message', (m: RateWorkerRequest) => {
  if (m.type === 'start') {
    started(m.startAtMs);
  } else if (m.type === 'setup') {
    void run(m.options, m.worker, m.workers, startAt).catch((err: Error) => {
      reply({ type: 'done', connected: 0, failed: 0, dropped: 0, firstConnectMs: 0, lastConnackMs: 0, published: 0, skipped: 0, errors: [`worker: ${err.message}`] });
    });
  } else {
    closeAll();
    if (process.connected) process.disconnect();
  }
});
// Without the parent there is nothing to report to: close everything so the process ends.
process.on('disconnect', closeAll);
reply({ type: 'ready' });
