/**
 * An MQTT-SN 1.2 client for the tests, written from the specification's message layouts
 * (sections 5.2-5.5) and sharing no code with the gateway or its codec: messages are built and
 * read here byte by byte. One UDP socket per client; `viaForwarder` puts several clients behind
 * one socket as a forwarder does, each with its wireless node id (Encapsulated message, 0xFE).
 */
import { createSocket, type Socket } from 'node:dgram';

export const T = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
} as const;

/** Flags octet (5.3.4). QoS -1 is 0b11. */
export function flags(o: { dup?: boolean; qos?: -1 | 0 | 1 | 2; retain?: boolean; will?: boolean; clean?: boolean; topicIdType?: 0 | 1 | 2 }): number {
  const q = o.qos === -1 ? 3 : (o.qos ?? 0);
  return (o.dup ? 0x80 : 0) | (q << 5) | (o.retain ? 0x10 : 0) | (o.will ? 0x08 : 0) | (o.clean ? 0x04 : 0) | (o.topicIdType ?? 0);
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);

/** Length (1 octet, or 0x01 + 2 octets above 255) + MsgType + body. */
export function message(type: number, ...body: Array<Buffer | number>): Buffer {
  const rest = Buffer.concat(body.map((b) => (typeof b === 'number' ? Buffer.from([b]) : b)));
  if (rest.length + 2 <= 255) return Buffer.concat([Buffer.from([rest.length + 2, type]), rest]);
  return Buffer.concat([Buffer.from([0x01]), u16(rest.length + 4), Buffer.from([type]), rest]);
}

export interface Received {
  type: number;
  body: Buffer;
}

export function parse(datagram: Buffer): Received {
  if (datagram[0] === 0x01) return { type: datagram[3]!, body: datagram.subarray(4, datagram.readUInt16BE(1)) };
  return { type: datagram[1]!, body: datagram.subarray(2, datagram[0]) };
}

/** PUBLISH fields (5.4.13). */
export function readPublish(r: Received): { dup: boolean; qos: number; retain: boolean; topicIdType: number; topicId: number; msgId: number; data: Buffer } {
  const f = r.body[0]!;
  const q = (f >> 5) & 3;
  return {
    dup: (f & 0x80) !== 0,
    qos: q === 3 ? -1 : q,
    retain: (f & 0x10) !== 0,
    topicIdType: f & 3,
    topicId: r.body.readUInt16BE(1),
    msgId: r.body.readUInt16BE(3),
    data: r.body.subarray(5),
  };
}

type Sender = (datagram: Buffer) => void;

export class SnTestClient {
  private readonly inbox: Received[] = [];
  private waiters: Array<() => void> = [];
  private nextMsgId = 1;

  constructor(
    private readonly sender: Sender,
    private readonly onClose: () => void,
  ) {}

  /** A client with a socket of its own, talking to the gateway at 127.0.0.1:port. */
  static async open(port: number, bindAddress = '127.0.0.1'): Promise<SnTestClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, bindAddress, resolve));
    const client = new SnTestClient(
      (d) => socket.send(d, port, '127.0.0.1'),
      () => socket.close(),
    );
    socket.on('message', (d) => client.received(d));
    return client;
  }

  received(datagram: Buffer): void {
    this.inbox.push(parse(datagram));
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(datagram: Buffer): void {
    this.sender(datagram);
  }

  msgId(): number {
    return this.nextMsgId++;
  }

  /** The next message of `type` (others before it are skipped and kept out of later waits). */
  async next(type: number, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((r) => r.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message 0x${type.toString(16)} within ${timeoutMs} ms; got ${this.inbox.map((r) => r.type.toString(16)).join(',')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every message of `type` that arrives within `ms`. */
  async during(type: number, ms: number): Promise<Received[]> {
    await new Promise((r) => setTimeout(r, ms));
    const got = this.inbox.filter((r) => r.type === type);
    for (const r of got) this.inbox.splice(this.inbox.indexOf(r), 1);
    return got;
  }

  /** CONNECT (5.4.5), with the will dialogue when `will` is given; resolves with the CONNACK return code. */
  async connect(clientId: string, o: { clean?: boolean; duration?: number; will?: { topic: string; message: string; qos?: 0 | 1 | 2; retain?: boolean } } = {}): Promise<number> {
    const will = o.will;
    this.send(message(T.CONNECT, flags({ clean: o.clean ?? true, will: will !== undefined }), 0x01, u16(o.duration ?? 60), Buffer.from(clientId)));
    if (will !== undefined) {
      await this.next(T.WILLTOPICREQ);
      this.send(message(T.WILLTOPIC, flags({ qos: will.qos ?? 0, retain: will.retain ?? false }), Buffer.from(will.topic)));
      await this.next(T.WILLMSGREQ);
      this.send(message(T.WILLMSG, Buffer.from(will.message)));
    }
    return (await this.next(T.CONNACK)).body[0]!;
  }

  /** REGISTER (5.4.11); resolves with the assigned topic id. */
  async register(topic: string): Promise<number> {
    const id = this.msgId();
    this.send(message(T.REGISTER, u16(0), u16(id), Buffer.from(topic)));
    const ack = await this.next(T.REGACK);
    if (ack.body[4] !== 0) throw new Error(`REGACK return code ${ack.body[4]}`);
    return ack.body.readUInt16BE(0);
  }

  /** SUBSCRIBE (5.4.16) by name, short name or predefined id; resolves with SUBACK fields. */
  async subscribe(topic: string | number, qos: 0 | 1 | 2, topicIdType: 0 | 1 | 2 = 0): Promise<{ qos: number; topicId: number; returnCode: number }> {
    const id = this.msgId();
    const field = typeof topic === 'number' ? u16(topic) : Buffer.from(topic);
    this.send(message(T.SUBSCRIBE, flags({ qos, topicIdType }), u16(id), field));
    const ack = await this.next(T.SUBACK);
    return { qos: (ack.body[0]! >> 5) & 3, topicId: ack.body.readUInt16BE(1), returnCode: ack.body[5]! };
  }

  publish(topicId: number, data: string | Buffer, o: { qos?: -1 | 0 | 1 | 2; retain?: boolean; topicIdType?: 0 | 1 | 2; msgId?: number; dup?: boolean } = {}): number {
    const msgId = o.msgId ?? ((o.qos ?? 0) > 0 ? this.msgId() : 0);
    this.send(message(T.PUBLISH, flags({ dup: o.dup ?? false, qos: o.qos ?? 0, retain: o.retain ?? false, topicIdType: o.topicIdType ?? 0 }), u16(topicId), u16(msgId), Buffer.from(data)));
    return msgId;
  }

  /**
   * QoS 1 PUBLISH as the specification's client does it: sent again with DUP set every `retryMs`
   * (Tretry) until its PUBACK comes, at most `tries` times (Nretry). UDP may lose a datagram
   * (a full socket buffer at the gateway drops it in the kernel).
   */
  async publishAcked(topicId: number, data: string, retryMs = 1000, tries = 5): Promise<Received> {
    const msgId = this.publish(topicId, data, { qos: 1 });
    for (let i = 1; ; i++) {
      try {
        return await this.next(T.PUBACK, retryMs);
      } catch (err) {
        if (i >= tries) throw err;
        this.publish(topicId, data, { qos: 1, msgId, dup: true });
      }
    }
  }

  /** Acknowledges a received PUBLISH as its QoS requires (REGISTERs must be answered by the caller). */
  async ack(r: Received): Promise<void> {
    const p = readPublish(r);
    if (p.qos === 1) this.send(message(T.PUBACK, u16(p.topicId), u16(p.msgId), 0x00));
    if (p.qos === 2) {
      this.send(message(T.PUBREC, u16(p.msgId)));
      await this.next(T.PUBREL);
      this.send(message(T.PUBCOMP, u16(p.msgId)));
    }
  }

  /** Answers the gateway's REGISTER (5.4.11) with REGACK accepted; resolves with [topic id, name]. */
  async acceptRegister(timeoutMs = 5000): Promise<[number, string]> {
    const reg = await this.next(T.REGISTER, timeoutMs);
    const topicId = reg.body.readUInt16BE(0);
    this.send(message(T.REGACK, u16(topicId), reg.body.subarray(2, 4), 0x00));
    return [topicId, reg.body.subarray(4).toString()];
  }

  disconnect(duration?: number): void {
    this.send(duration === undefined ? message(T.DISCONNECT) : message(T.DISCONNECT, u16(duration)));
  }

  pingreq(clientId?: string): void {
    this.send(clientId === undefined ? message(T.PINGREQ) : message(T.PINGREQ, Buffer.from(clientId)));
  }

  close(): void {
    this.onClose();
  }
}

/** A forwarder: one UDP socket, many wireless nodes; each client's messages are encapsulated with its node id. */
export class Forwarder {
  private readonly nodes = new Map<string, SnTestClient>();

  private constructor(
    private readonly socket: Socket,
    private readonly port: number,
  ) {
    socket.on('message', (d) => {
      // Encapsulated (5.5): Length covers Length, 0xFE, Ctrl and the node id; the inner message follows
      if (d[1] !== 0xfe) return;
      const nodeId = d.subarray(3, d[0]).toString('hex');
      this.nodes.get(nodeId)?.received(d.subarray(d[0]));
    });
  }

  static async open(port: number): Promise<Forwarder> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new Forwarder(socket, port);
  }

  node(wirelessNodeId: Buffer): SnTestClient {
    const client = new SnTestClient(
      (inner) => this.socket.send(Buffer.concat([Buffer.from([3 + wirelessNodeId.length, 0xfe, 0x00]), wirelessNodeId, inner]), this.port, '127.0.0.1'),
      () => this.nodes.delete(wirelessNodeId.toString('hex')),
    );
    this.nodes.set(wirelessNodeId.toString('hex'), client);
    return client;
  }

  close(): void {
    this.socket.close();
  }
}
