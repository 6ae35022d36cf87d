/**
 * NodeBus (with takeover requests) on Redis pub/sub: each node listens on its own channel (SSUBSCRIBE on
 * Redis Cluster). Messages for a node are batched per event-loop turn: every `send` in one turn
 * to the same node ends up in one packed frame and one PUBLISH (see message-codec.ts), so a flood
 * costs a handful of Redis commands per turn, not one per message.
 *
 * Backpressure: bytes handed to Redis and not yet acknowledged are counted; past
 * `maxInflightBytes` new messages are dropped and counted (QoS 0 semantics between nodes), so a
 * flood cannot grow the process without bound nor overrun Redis.
 *
 * Consumption window: a PUBLISH is acknowledged when Redis has queued the frame for the
 * subscriber, not when the destination node has read it, so a node slower than its sender lets
 * Redis's output buffer for its subscriber connection grow until Redis cuts the link (pub/sub
 * client-output-buffer-limit, 32 MiB hard / 8 MiB for 60 s by default) and everything in it is
 * lost. So the receiver reports the bytes it has consumed from each sender (a credit frame after
 * every `creditEveryBytes`), and the sender drops QoS 0 messages to a node while more than
 * `maxUnconsumedBytes` sent to it are unconsumed: the link survives a flood and sheds the excess
 * at the sender. Before dropping, the engine is told the node is congested (half the window
 * unconsumed, `congested`) and holds back the local publishers feeding it until `onDrain`
 * (quarter of the window): cross-node forwarding slows the publishers instead of shedding.
 * A credit that never comes (lost in a reconnect, a stuck node) does not wedge the link: after
 * 2 s over the window without a credit, the sender sends a sync probe (kind 8) that the receiver
 * answers (kind 9) once it has read everything sent before it; the window never reopens blindly
 * (peer-windows.ts says why).
 *
 * Receiving side: a local subscriber that cannot take a burst as fast as it arrives (its socket
 * full, its queue past the high-water mark) holds the receiver back (`listen`'s `held`, the
 * engine's flow control): the rest of the frame and the frames after it wait here, in order, and
 * are credited only once handed over. So the sender's window fills and its publishers are slowed,
 * as a local publisher would be, instead of this node dropping the burst at the subscriber's queue
 * limit. What waits is bounded by the senders' windows (nothing is sent past them), and the pub/sub
 * connection is still read meanwhile: control frames are served at once, a sync probe after the
 * batches before it.
 *
 * Control frames share the channel: kind byte 2 and 3 (takeover request / reply), 4 (credit),
 * 5 and 6 (generic request / reply: `request` asks another node, `serveRequests` answers; the
 * admin fan-out in admin-fanout.ts rides on it). A request carries an id and the asker's node id;
 * the reply goes to the asker's own channel. An unanswered request resolves undefined after its
 * timeout (the node is dead, partitioned, or too slow). Kind 7: a node left gracefully (sent to
 * each live member by the leaving node; the receivers run their dead-node detection at once).
 */
import type { NodeBus, StoredMessage } from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { readMessage, writeMessage } from './message-codec.js';
import { Reader, Writer } from './pack.js';
import { PeerWindows } from './peer-windows.js';
import { isCluster, type RedisClient } from './redis-client.js';
import { type RedisTimer, timed } from './timing.js';

const KIND_BATCH = 1;
const KIND_TAKEOVER = 2;
const KIND_TAKEOVER_DONE = 3;
const KIND_CREDIT = 4;
const KIND_REQUEST = 5;
const KIND_REPLY = 6;
const KIND_LEFT = 7;
const KIND_SYNC = 8;
const KIND_SYNC_ACK = 9;

export interface NodeBusOptions {
  /** This node: replies to its control requests come to its channel. */
  nodeId: string;
  maxInflightBytes?: number;
  /**
   * Bytes sent to one node and not yet consumed by it, past which QoS 0 messages to it are dropped
   * (default 4 MiB); past half of it the node is reported congested (publishers held back).
   */
  maxUnconsumedBytes?: number;
  /** The receiver reports consumption after this many bytes from a sender (default 256 KiB). */
  creditEveryBytes?: number;
  /** Liveness check before a takeover request (a dead node is not waited for). */
  isAlive?: (nodeId: string) => Promise<boolean>;
  /** Told of every takeover request this node receives (the registry drops stale registrations). */
  onTakeoverRequest?: (clientId: string, epoch: number) => void;
  onError?: (error: unknown) => void;
  /** Told how long each PUBLISH to a node channel took (Redis command latency metric). */
  timer?: RedisTimer;
}

/** Answers a request from another node (`from`); the returned bytes are the reply. */
export type RequestHandler = (body: Buffer, from: string) => Promise<Buffer>;

export interface NodeBusStats {
  /** PUBLISH/SPUBLISH commands sent. */
  publishes: number;
  messagesSent: number;
  messagesReceived: number;
  messagesDropped: number;
  sentByPeer: Map<string, number>;
  receivedByPeer: Map<string, number>;
  /** Cross-node takeovers: sessions this node took from another (its handover confirmed) / gave to another. */
  takeoversTaken: number;
  takeoversGiven: number;
}

interface PendingBatch {
  writer: Writer;
  count: number;
}

interface Listener {
  handler: (message: StoredMessage) => void;
  held: (() => Promise<void> | undefined) | undefined;
}

/** A received batch frame not yet handed over in full, or a sync probe waiting behind batches. */
type Arrived = { kind: 'batch'; nodeId: string; listener: Listener; reader: Reader; left: number; from: string; bytes: number } | { kind: 'sync'; from: string; mark: number };

export class RedisNodeBus implements NodeBus {
  readonly stats: NodeBusStats = {
    publishes: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
    sentByPeer: new Map(),
    receivedByPeer: new Map(),
    takeoversTaken: 0,
    takeoversGiven: 0,
  };
  private readonly pending = new Map<string, PendingBatch>();
  private flushScheduled = false;
  private inflightBytes = 0;
  private readonly maxInflightBytes: number;
  private subscriber: RedisClient | undefined = undefined;
  private readonly subscribed = new Map<string, Promise<void>>();
  private readonly messageHandlers = new Map<string, Listener>();
  /** Received, in order, not yet handed over (a local session holds the receiver back). */
  private readonly arrived: Arrived[] = [];
  private holding = false;
  private readonly takeoverHandlers = new Map<string, (clientId: string, epoch: number) => Promise<void>>();
  private readonly waiting = new Map<number, () => void>();
  private readonly replies = new Map<number, (body: Buffer) => void>();
  private requestHandler: RequestHandler | undefined = undefined;
  private leftHandler: ((nodeId: string) => void) | undefined = undefined;
  /**
   * Nodes whose takeover service stopped (the node is closing): their requests are not answered,
   * the asker waits for the survivor's cleanup instead (an answer would say "handed over" for a
   * session that the survivor is about to adopt).
   */
  private readonly takeoversStopped = new Set<string>();
  private nextRequestId = 1;
  private readonly cluster: boolean;
  private readonly creditEveryBytes: number;
  private readonly peers: PeerWindows;
  /** Per sender: bytes consumed, and the value last reported to it. */
  private readonly consumedFrom = new Map<string, { bytes: number; reported: number }>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly options: NodeBusOptions,
  ) {
    this.maxInflightBytes = options.maxInflightBytes ?? 64 * 1024 * 1024;
    this.cluster = isCluster(client);
    this.peers = new PeerWindows({ maxUnconsumed: options.maxUnconsumedBytes ?? 4 * 1024 * 1024 });
    this.creditEveryBytes = options.creditEveryBytes ?? 256 * 1024;
  }

  send(nodeId: string, message: StoredMessage): void {
    let batch = this.pending.get(nodeId);
    const admitted = this.inflightBytes > this.maxInflightBytes ? false : this.peers.admits(nodeId, batch?.writer.pos ?? 0);
    if (admitted !== true) {
      if (admitted === 'sync') this.sendSync(nodeId);
      this.stats.messagesDropped++;
      return;
    }
    if (batch === undefined) {
      batch = { writer: new Writer(1024), count: 0 };
      batch.writer.u8(KIND_BATCH);
      batch.writer.u32(0);
      batch.writer.str(this.options.nodeId);
      this.pending.set(nodeId, batch);
    }
    writeMessage(batch.writer, message);
    batch.count++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends the batches collected in this turn: one PUBLISH per destination node. */
  private flush(): void {
    this.flushScheduled = false;
    for (const [nodeId, batch] of this.pending) {
      const frame = batch.writer.finish();
      frame.writeUInt32BE(batch.count, 1);
      this.stats.messagesSent += batch.count;
      this.stats.sentByPeer.set(nodeId, (this.stats.sentByPeer.get(nodeId) ?? 0) + batch.count);
      this.peers.sent(nodeId, frame.length);
      this.publish(nodeId, frame);
    }
    this.pending.clear();
  }

  /** True while more than half the window sent to `nodeId` is unconsumed (until the drain handler runs). */
  congested(nodeId: string): boolean {
    return this.peers.congested(nodeId, this.pending.get(nodeId)?.writer.pos ?? 0);
  }

  onDrain(handler: (nodeId: string) => void): void {
    this.peers.onDrain = handler;
  }

  /** Asks `nodeId` to confirm it read everything sent so far (its window had no credit for too long). */
  private sendSync(nodeId: string): void {
    if (this.pending.has(nodeId)) this.flush(); // the mark covers the batch being collected
    const w = new Writer(64);
    w.u8(KIND_SYNC);
    w.str(this.options.nodeId);
    w.f64(this.peers.syncMark(nodeId));
    this.publish(nodeId, w.finish());
  }

  private publish(nodeId: string, frame: Buffer): void {
    const channel = this.keys.nodeChannel(nodeId);
    const size = frame.length;
    this.inflightBytes += size;
    this.stats.publishes++;
    const p = timed(this.options.timer, 'bus', this.cluster ? this.client.spublish(channel, frame) : this.client.publish(channel, frame));
    p.then(
      () => {
        this.inflightBytes -= size;
      },
      (e: unknown) => {
        this.inflightBytes -= size;
        this.options.onError?.(e);
      },
    );
  }

  async listen(nodeId: string, handler: (message: StoredMessage) => void, held?: () => Promise<void> | undefined): Promise<() => Promise<void>> {
    const listener: Listener = { handler, held };
    this.messageHandlers.set(nodeId, listener);
    await this.subscribe(nodeId);
    return async () => {
      if (this.messageHandlers.get(nodeId) === listener) this.messageHandlers.delete(nodeId);
      await this.unsubscribeIfIdle(nodeId);
    };
  }

  async serveTakeovers(nodeId: string, handler: (clientId: string, epoch: number) => Promise<void>): Promise<() => Promise<void>> {
    this.takeoverHandlers.set(nodeId, handler);
    await this.subscribe(nodeId);
    this.takeoversStopped.delete(nodeId);
    return async () => {
      if (this.takeoverHandlers.get(nodeId) === handler) {
        this.takeoverHandlers.delete(nodeId);
        this.takeoversStopped.add(nodeId);
      }
      await this.unsubscribeIfIdle(nodeId);
    };
  }

  async takeover(nodeId: string, clientId: string, epoch: number, timeoutMs: number): Promise<boolean> {
    if (this.options.isAlive !== undefined && !(await this.options.isAlive(nodeId))) return false;
    await this.subscribe(this.options.nodeId);
    const id = this.nextRequestId++;
    const w = new Writer(64);
    w.u8(KIND_TAKEOVER);
    w.u32(id);
    w.str(this.options.nodeId);
    w.str(clientId);
    w.f64(epoch);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(false);
      }, timeoutMs);
      this.waiting.set(id, () => {
        clearTimeout(timer);
        this.waiting.delete(id);
        this.stats.takeoversTaken++;
        resolve(true);
      });
      this.publish(nodeId, w.finish());
    });
  }

  /** Answers other nodes' `request`s (one handler per bus; the last one set wins). */
  async serveRequests(handler: RequestHandler): Promise<() => void> {
    this.requestHandler = handler;
    await this.subscribe(this.options.nodeId);
    return () => {
      if (this.requestHandler === handler) this.requestHandler = undefined;
    };
  }

  /** Tells this node when another node announces that it left (`announceLeft`). */
  async watchLeaves(handler: (nodeId: string) => void): Promise<void> {
    this.leftHandler = handler;
    await this.subscribe(this.options.nodeId);
  }

  /** Tells each of `nodes` that this node left the cluster (resolves once Redis took the frames). */
  async announceLeft(nodes: string[]): Promise<void> {
    const w = new Writer(64);
    w.u8(KIND_LEFT);
    w.str(this.options.nodeId);
    const frame = w.finish();
    await Promise.all(
      nodes.map((n) => {
        const channel = this.keys.nodeChannel(n);
        return timed(this.options.timer, 'bus', this.cluster ? this.client.spublish(channel, frame) : this.client.publish(channel, frame));
      }),
    );
  }

  /** Sends `body` to `nodeId`'s request handler; resolves its reply, or undefined after `timeoutMs`. */
  async request(nodeId: string, body: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
    await this.subscribe(this.options.nodeId);
    const id = this.nextRequestId++;
    const w = new Writer(body.length + 64);
    w.u8(KIND_REQUEST);
    w.u32(id);
    w.str(this.options.nodeId);
    w.bytes(body);
    return new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.replies.set(id, (reply) => {
        clearTimeout(timer);
        this.replies.delete(id);
        resolve(reply);
      });
      this.publish(nodeId, w.finish());
    });
  }

  private subscriberConnection(): RedisClient {
    if (this.subscriber !== undefined) return this.subscriber;
    if (this.cluster) {
      // sharded subscribers live inside the Cluster client (ioredis >= 5.5)
      this.subscriber = this.client;
      this.client.on('smessageBuffer', (channel: Buffer, data: Buffer) => this.onFrame(channel.toString(), data));
    } else {
      const sub = this.client.duplicate();
      sub.on('messageBuffer', (channel: Buffer, data: Buffer) => this.onFrame(channel.toString(), data));
      sub.on('error', (e: unknown) => this.options.onError?.(e));
      this.subscriber = sub;
    }
    return this.subscriber;
  }

  private subscribe(nodeId: string): Promise<void> {
    const channel = this.keys.nodeChannel(nodeId);
    let p = this.subscribed.get(channel);
    if (p === undefined) {
      const sub = this.subscriberConnection();
      p = (this.cluster ? sub.ssubscribe(channel) : sub.subscribe(channel)).then(() => {});
      this.subscribed.set(channel, p);
    }
    return p;
  }

  private async unsubscribeIfIdle(nodeId: string): Promise<void> {
    if (this.messageHandlers.has(nodeId) || this.takeoverHandlers.has(nodeId) || nodeId === this.options.nodeId) return;
    const channel = this.keys.nodeChannel(nodeId);
    if (!this.subscribed.delete(channel) || this.subscriber === undefined) return;
    if (this.cluster) await this.subscriber.sunsubscribe(channel);
    else await this.subscriber.unsubscribe(channel);
  }

  private nodeOfChannel(channel: string): string {
    // mqtt:{n:<node>}:bus
    const start = channel.indexOf('{n:');
    const end = channel.lastIndexOf('}:bus');
    return channel.slice(start + 3, end);
  }

  private onFrame(channel: string, data: Buffer): void {
    const nodeId = this.nodeOfChannel(channel);
    try {
      const r = new Reader(data);
      const kind = r.u8();
      if (kind === KIND_BATCH) {
        const listener = this.messageHandlers.get(nodeId);
        const count = r.u32();
        const from = r.str();
        if (listener === undefined) return;
        this.stats.messagesReceived += count;
        this.stats.receivedByPeer.set(from, (this.stats.receivedByPeer.get(from) ?? 0) + count);
        this.arrived.push({ kind: 'batch', nodeId, listener, reader: r, left: count, from, bytes: data.length });
        if (!this.holding) this.handOver();
      } else if (kind === KIND_TAKEOVER) {
        const id = r.u32();
        const replyTo = r.str();
        const clientId = r.str();
        const epoch = r.f64();
        this.options.onTakeoverRequest?.(clientId, epoch);
        const handler = this.takeoverHandlers.get(nodeId);
        const done = (): void => {
          const w = new Writer(16);
          w.u8(KIND_TAKEOVER_DONE);
          w.u32(id);
          this.publish(replyTo, w.finish());
        };
        if (handler === undefined) {
          if (!this.takeoversStopped.has(nodeId)) done();
        }
        else
          handler(clientId, epoch).then(
            () => {
              this.stats.takeoversGiven++;
              done();
            },
            (e: unknown) => this.options.onError?.(e),
          );
      } else if (kind === KIND_TAKEOVER_DONE) {
        this.waiting.get(r.u32())?.();
      } else if (kind === KIND_REQUEST) {
        const id = r.u32();
        const replyTo = r.str();
        const body = r.bytes();
        const handler = this.requestHandler;
        if (handler === undefined || nodeId !== this.options.nodeId) return; // not served here: the asker times out
        handler(body, replyTo).then(
          (reply) => {
            const w = new Writer(reply.length + 16);
            w.u8(KIND_REPLY);
            w.u32(id);
            w.bytes(reply);
            this.publish(replyTo, w.finish());
          },
          (e: unknown) => this.options.onError?.(e),
        );
      } else if (kind === KIND_REPLY) {
        const id = r.u32();
        this.replies.get(id)?.(r.bytes());
      } else if (kind === KIND_LEFT) {
        const left = r.str();
        if (nodeId === this.options.nodeId && left !== this.options.nodeId) this.leftHandler?.(left);
      } else if (kind === KIND_CREDIT) {
        const peer = r.str();
        const bytes = r.f64();
        this.peers.credit(peer, bytes);
      } else if (kind === KIND_SYNC) {
        // answered once everything `from` sent before this frame has been handed over
        this.arrived.push({ kind: 'sync', from: r.str(), mark: r.f64() });
        if (!this.holding) this.handOver();
      } else if (kind === KIND_SYNC_ACK) {
        const peer = r.str();
        const mark = r.f64();
        this.peers.syncAck(peer, mark, r.f64());
      }
    } catch (e) {
      this.options.onError?.(e);
    }
  }

  /**
   * Hands what arrived to the listeners, in order, until a listener's `held` returns a promise:
   * then the rest waits for it. A frame counts as consumed (credit) once handed over in full.
   */
  private handOver(): void {
    const q = this.arrived;
    while (q.length > 0) {
      const a = q[0];
      if (a.kind === 'sync') {
        q.shift();
        this.answerSync(a.from, a.mark);
        continue;
      }
      try {
        while (a.left > 0) {
          if (this.messageHandlers.get(a.nodeId) !== a.listener) break; // stopped listening: the rest is not delivered
          a.left--;
          a.listener.handler(readMessage(a.reader));
          const held = a.listener.held?.();
          if (held === undefined) continue;
          if (a.left === 0) {
            q.shift();
            this.consumed(a.from, a.bytes);
          }
          this.holding = true;
          const resume = (): void => {
            this.holding = false;
            this.handOver();
          };
          held.then(resume, resume);
          return;
        }
      } catch (e) {
        this.options.onError?.(e); // a frame that does not decode: the rest of it is lost
      }
      q.shift();
      this.consumed(a.from, a.bytes);
    }
  }

  /** A sync probe from `from`: everything it sent before it has been handed over; tells what was counted. */
  private answerSync(from: string, mark: number): void {
    const w = new Writer(64);
    w.u8(KIND_SYNC_ACK);
    w.str(this.options.nodeId);
    w.f64(mark);
    w.f64(this.consumedFrom.get(from)?.bytes ?? 0);
    this.publish(from, w.finish());
  }

  /** Counts bytes consumed from `from` and reports them to it every `creditEveryBytes`. */
  private consumed(from: string, bytes: number): void {
    let c = this.consumedFrom.get(from);
    if (c === undefined) this.consumedFrom.set(from, (c = { bytes: 0, reported: 0 }));
    c.bytes += bytes;
    if (c.bytes - c.reported < this.creditEveryBytes) return;
    c.reported = c.bytes;
    const w = new Writer(64);
    w.u8(KIND_CREDIT);
    w.str(this.options.nodeId);
    w.f64(c.bytes);
    this.publish(from, w.finish());
  }

  async close(): Promise<void> {
    if (this.flushScheduled) this.flush();
    this.arrived.length = 0;
    const sub = this.subscriber;
    this.subscriber = undefined;
    this.subscribed.clear();
    if (sub !== undefined && sub !== this.client) sub.disconnect();
  }
}
