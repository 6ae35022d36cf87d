// One simulated MQTT-SN client of the load generator: its own UDP socket (so its own source
// port: the gateway keys a client by address:port), connected to the gateway, with CONNECT and
// REGISTER done as request/response (resent every 500 ms until answered, as a client's Tretry
// would), then pre-encoded PUBLISH datagrams sent as they are. PUBACKs go to `onPuback`.

import { createSocket, type Socket } from 'node:dgram';
import { SnMsgType, snConnect, snHeader, snRegister } from './mqttsn-packets.js';

const RESEND_MS = 500;

interface Waiter {
  type: number;
  msgId: number | undefined;
  resolve(d: Buffer, body: number): void;
}

export class SnBenchClient {
  closed = false;
  /** Called for every PUBACK: its MsgId and return code. */
  onPuback: ((msgId: number, returnCode: number) => void) | undefined;
  private waiter: Waiter | undefined;

  private constructor(
    readonly socket: Socket,
    readonly clientId: string,
  ) {
    socket.on('message', (d) => this.onMessage(d));
    socket.on('error', () => this.close());
  }

  /** A socket connected to the gateway and a CONNECT accepted (clean session, no keep alive). */
  static async open(host: string, port: number, clientId: string, timeoutMs: number): Promise<SnBenchClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const client = new SnBenchClient(socket, clientId);
    try {
      const [d, body] = await client.request(snConnect(clientId), SnMsgType.Connack, undefined, timeoutMs);
      if (d[body] !== 0) throw new Error(`CONNACK refused: ${d[body]}`);
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /** REGISTERs `topic`; resolves with the TopicId the gateway assigned. */
  async register(topic: string, msgId: number, timeoutMs: number): Promise<number> {
    const [d, body] = await this.request(snRegister(msgId, topic), SnMsgType.Regack, msgId, timeoutMs);
    const returnCode = d[body + 4];
    if (returnCode !== 0) throw new Error(`REGACK refused: ${returnCode}`);
    return d.readUInt16BE(body);
  }

  send(datagram: Buffer): void {
    if (!this.closed) this.socket.send(datagram);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private request(datagram: Buffer, type: number, msgId: number | undefined, timeoutMs: number): Promise<[Buffer, number]> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const resend = setInterval(() => {
        if (Date.now() < deadline) this.send(datagram);
        else finish(new Error(`no ${type === SnMsgType.Connack ? 'CONNACK' : 'REGACK'} within ${timeoutMs} ms`));
      }, RESEND_MS);
      const finish = (err: Error | undefined, d?: Buffer, body?: number): void => {
        clearInterval(resend);
        this.waiter = undefined;
        if (err !== undefined) reject(err);
        else resolve([d!, body!]);
      };
      this.waiter = { type, msgId, resolve: (d, body) => finish(undefined, d, body) };
      this.send(datagram);
    });
  }

  private onMessage(d: Buffer): void {
    const h = snHeader(d);
    if (h === undefined) return;
    if (h.type === SnMsgType.Puback && d.length >= h.body + 5) {
      this.onPuback?.(d.readUInt16BE(h.body + 2), d[h.body + 4]);
      return;
    }
    const w = this.waiter;
    if (w === undefined || w.type !== h.type) return;
    if (w.msgId !== undefined && (d.length < h.body + 5 || d.readUInt16BE(h.body + 2) !== w.msgId)) return;
    w.resolve(d, h.body);
  }
}

export interface OpenedSnClients {
  clients: SnBenchClient[];
  failed: number;
  errors: string[];
  /** Epoch ms (sub-ms precision) when the first CONNECT went out and when the last one ended. */
  startMs: number;
  endMs: number;
}

/**
 * Opens `count` clients with ids `<prefix>-sn-<i>`, at most `concurrency` handshakes at once and
 * none started after `deadlineMs` (what is left counts as failed); `setup` (e.g. a REGISTER) runs
 * on each before it counts as opened.
 */
export async function openSnClients(
  host: string,
  port: number,
  count: number,
  prefix: string,
  concurrency: number,
  deadlineMs: number,
  setup?: (client: SnBenchClient, i: number) => Promise<void>,
): Promise<OpenedSnClients> {
  const clients: SnBenchClient[] = [];
  const errors = new Set<string>();
  let failed = 0;
  let next = 0;
  const startMs = performance.timeOrigin + performance.now();
  const deadline = Date.now() + deadlineMs;
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      let c: SnBenchClient | undefined;
      try {
        c = await SnBenchClient.open(host, port, `${prefix}-sn-${i}`, 5_000);
        await setup?.(c, i);
        clients.push(c);
      } catch (err) {
        c?.close();
        failed++;
        if (errors.size < 3) errors.add((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  if (next < count) {
    failed += count - next;
    errors.add(`${count - next} not started within ${deadlineMs} ms`);
  }
  return { clients, failed, errors: [...errors], startMs, endMs: performance.timeOrigin + performance.now() };
}
