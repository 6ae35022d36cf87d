/**
 * ClientConnection over a WebSocketPeer (MQTT over WebSocket, spec chapter 6).
 *
 * Frames written in one event-loop turn are collected and sent in one batch on the next tick
 * (one write syscall). MQTT packets may span WebSocket messages and one message may hold several
 * packets: the core's streaming parser handles both, so messages are passed on as raw bytes.
 * [MQTT-6.0.0-1] A text (non-binary) message closes the connection.
 * Backpressure: `write` returns false once bytes buffered (sent and not flushed, plus this
 * turn's batch) reach `highWaterMark`; `onDrain` follows when the socket drains below it.
 */
import type { CertificateNames, ClientConnection, ConnectionAcceptor, ConnectionHandler, TransportKind } from './core-types.js';
import type { TransportEvents } from './events.js';
import type { WebSocketPeer, WebSocketPeerInfo } from './ws-engine.js';

export const DEFAULT_WS_HIGH_WATER_MARK = 64 * 1024;

const NO_HANDLER: ConnectionHandler = { onData() {}, onDrain() {}, onClose() {} };

export class WebSocketConnection implements ClientConnection {
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly certificateCommonName?: string;
  readonly certificate?: CertificateNames;
  private handler: ConnectionHandler = NO_HANDLER;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private blocked = false;
  private closed = false;
  private ending = false;

  constructor(
    private readonly peer: WebSocketPeer,
    info: WebSocketPeerInfo,
    transport: Extract<TransportKind, 'ws' | 'wss'>,
    private readonly highWaterMark: number,
    private readonly events: TransportEvents | undefined,
  ) {
    this.transport = transport;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    if (info.certificateCommonName !== undefined) this.certificateCommonName = info.certificateCommonName;
    if (info.certificate !== undefined) this.certificate = info.certificate;
  }

  attach(handler: ConnectionHandler): void {
    this.handler = handler;
    this.peer.bind({
      message: (data, isBinary) => {
        if (!isBinary) {
          // [MQTT-6.0.0-1]
          this.events?.connectionRejected?.(this.transport, 'ws_text_frame', this.remoteAddress);
          this.destroy();
          return;
        }
        try {
          this.handler.onData(data);
        } catch (err) {
          this.fail(err);
        }
      },
      readOverflow: () => {
        try {
          this.handler.onReadOverflow?.();
        } catch (err) {
          this.fail(err);
        }
      },
      drain: () => this.maybeDrained(),
      error: (err) => this.events?.socketError?.(this.transport, err),
      close: (hadError) => {
        this.closed = true;
        this.batch = [];
        this.batchBytes = 0;
        try {
          this.handler.onClose(hadError);
        } catch (err) {
          this.events?.socketError?.(this.transport, asError(err));
        }
      },
    });
  }

  write(frame: Buffer): boolean {
    if (this.closed || this.ending) return false;
    if (this.batch.length === 0) process.nextTick(flushBatch, this);
    this.batch.push(frame);
    this.batchBytes += frame.length;
    const ok = this.bufferedBytes < this.highWaterMark;
    if (!ok) this.blocked = true;
    return ok;
  }

  get bufferedBytes(): number {
    return this.peer.bufferedAmount + this.batchBytes;
  }

  end(): void {
    if (this.ending) return;
    this.flush();
    this.ending = true;
    this.peer.close();
  }

  destroy(): void {
    this.batch = [];
    this.batchBytes = 0;
    this.peer.terminate();
  }

  pauseReading(): void {
    this.peer.pause();
  }

  resumeReading(): void {
    this.peer.resume();
  }

  flush(): void {
    if (this.batch.length === 0) return;
    const frames = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    if (this.closed) return;
    this.peer.sendBatch(frames);
    // The kernel may have taken everything synchronously: then no 'drain' will come.
    if (this.blocked && !this.peer.needsDrain) this.maybeDrained();
  }

  private maybeDrained(): void {
    if (!this.blocked || this.closed || this.bufferedBytes >= this.highWaterMark) return;
    this.blocked = false;
    try {
      this.handler.onDrain();
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.events?.socketError?.(this.transport, asError(err));
    this.destroy();
  }
}

function flushBatch(conn: WebSocketConnection): void {
  conn.flush();
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Create the connection, hand it to the core, and start reading. */
export function serveWebSocket(
  peer: WebSocketPeer,
  info: WebSocketPeerInfo,
  acceptor: ConnectionAcceptor,
  transport: Extract<TransportKind, 'ws' | 'wss'>,
  highWaterMark: number,
  events: TransportEvents | undefined,
): WebSocketConnection {
  const connection = new WebSocketConnection(peer, info, transport, highWaterMark, events);
  let handler: ConnectionHandler;
  try {
    handler = acceptor.accept(connection);
  } catch (err) {
    events?.socketError?.(transport, asError(err));
    peer.terminate();
    return connection;
  }
  connection.attach(handler);
  return connection;
}
