/**
 * ClientConnection over a Node stream socket (net.Socket or tls.TLSSocket).
 *
 * Write coalescing: the first write in an event-loop turn corks the socket and schedules an
 * uncork with process.nextTick, so every frame the core writes while handling one chunk (a
 * PUBLISH fanned out, a batch of acks) leaves in one writev syscall. Backpressure follows the
 * socket's own high-water mark: `write` returns what `socket.write` returns, and once it has
 * returned false the handler's `onDrain` runs on the socket's next 'drain'.
 *
 * Errors never escape: socket errors are reported to TransportEvents and the socket closes;
 * an exception thrown by the handler is reported and the socket is destroyed.
 */
import type { Socket } from 'node:net';
import type { CertificateNames, ClientConnection, ConnectionAcceptor, ConnectionHandler, TransportKind } from './core-types.js';
import type { TransportEvents } from './events.js';

export interface SocketConnectionOptions {
  transport: TransportKind;
  /** Client address to report instead of the socket's (from a PROXY protocol header). */
  remoteAddress?: string;
  remotePort?: number;
  certificateCommonName?: string;
  certificate?: CertificateNames;
  events?: TransportEvents;
}

const NO_HANDLER: ConnectionHandler = { onData() {}, onDrain() {}, onClose() {} };

export class SocketConnection implements ClientConnection {
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly certificateCommonName?: string;
  readonly certificate?: CertificateNames;
  readonly socket: Socket;
  private handler: ConnectionHandler = NO_HANDLER;
  private corked = false;
  private blocked = false;
  private readonly events: TransportEvents | undefined;

  constructor(socket: Socket, options: SocketConnectionOptions) {
    this.socket = socket;
    this.transport = options.transport;
    this.remoteAddress = options.remoteAddress ?? normalizeAddress(socket.remoteAddress);
    this.remotePort = options.remotePort ?? socket.remotePort ?? 0;
    if (options.certificateCommonName !== undefined) this.certificateCommonName = options.certificateCommonName;
    if (options.certificate !== undefined) this.certificate = options.certificate;
    this.events = options.events;
    socket.setNoDelay(true);
    socket.setKeepAlive(false); // MQTT has its own keep alive
  }

  /**
   * Wire the socket's events to `handler`; reading starts (or resumes) now. The listeners are
   * module-level functions that find this connection on the socket (no closures per connection:
   * they were ~300 bytes of an idle connection's memory).
   */
  attach(handler: ConnectionHandler): void {
    this.handler = handler;
    const socket = this.socket as ConnectedSocket;
    socket[CONNECTION] = this;
    socket.on('data', onSocketData);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.once('close', onSocketClose);
    if (socket.isPaused()) socket.resume();
  }

  /** @internal */
  handleData(chunk: Buffer): void {
    try {
      this.handler.onData(chunk);
    } catch (err) {
      this.fail(err);
    }
  }

  /** @internal */
  handleDrain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    try {
      this.handler.onDrain();
    } catch (err) {
      this.fail(err);
    }
  }

  /** @internal */
  handleError(err: Error): void {
    this.events?.socketError?.(this.transport, err);
  }

  /** @internal */
  handleClose(hadError: boolean): void {
    try {
      this.handler.onClose(hadError);
    } catch (err) {
      this.events?.socketError?.(this.transport, asError(err));
    }
  }

  write(frame: Buffer): boolean {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return false;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    const ok = socket.write(frame);
    if (!ok) this.blocked = true;
    return ok;
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  end(): void {
    this.flush();
    if (!this.socket.destroyed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Uncork now (end() and the scheduled tick). */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private fail(err: unknown): void {
    this.events?.socketError?.(this.transport, asError(err));
    this.socket.destroy();
  }
}

const CONNECTION = Symbol('connection');
type ConnectedSocket = Socket & { [CONNECTION]?: SocketConnection };

function onSocketData(this: ConnectedSocket, chunk: Buffer): void {
  this[CONNECTION]!.handleData(chunk);
}
function onSocketDrain(this: ConnectedSocket): void {
  this[CONNECTION]!.handleDrain();
}
function onSocketError(this: ConnectedSocket, err: Error): void {
  this[CONNECTION]!.handleError(err);
}
function onSocketClose(this: ConnectedSocket, hadError: boolean): void {
  this[CONNECTION]!.handleClose(hadError);
}

function uncork(conn: SocketConnection): void {
  conn.flush();
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** '::ffff:1.2.3.4' (IPv4 on a dual-stack socket) -> '1.2.3.4'. */
export function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Create the connection, hand it to the core, and start reading. */
export function serveSocket(socket: Socket, acceptor: ConnectionAcceptor, options: SocketConnectionOptions): SocketConnection {
  const connection = new SocketConnection(socket, options);
  let handler: ConnectionHandler;
  try {
    handler = acceptor.accept(connection);
  } catch (err) {
    options.events?.socketError?.(options.transport, asError(err));
    socket.destroy();
    return connection;
  }
  connection.attach(handler);
  return connection;
}
