/**
 * WebSocketEngine on top of uWebSockets.js (a native HTTP/WebSocket server running in Node's
 * event loop; uws-loader.ts finds a build).
 *
 * The upgrade handler checks path and subprotocol like the `ws` engine, with the same HTTP
 * answers (404 wrong path, 400 no MQTT subprotocol, 503 while not accepting, 426 plain HTTP).
 * What differs, because uWS does not offer it:
 * - Reading cannot be paused: uWS has no receive-side flow control (with TLS, reading and writing
 *   cannot be stopped apart). While paused, a connection's messages are held here and handed over
 *   on resume. Past `heldLimit` bytes held the connection's handler is asked to resume
 *   (onReadOverflow); if it does not, the connection is closed (`ws_read_overflow`), so a client
 *   that ignores the pause costs bounded memory.
 * - No remote port (reported 0), no client certificate check and CN, no PROXY protocol
 *   (ws-engine-select.ts keeps those listeners on `ws`), a fixed listen backlog of 512.
 * - TLS certificate and key are read by uWS from files: they are written to a private temporary
 *   directory for the construction of the app and deleted right after.
 * uWS's own send limit (maxBackpressure) is off: WebSocketConnection applies the high-water mark,
 * from getBufferedAmount, and uWS's 'drain' event drives onDrain.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TransportKind } from './core-types.js';
import { ListenError } from './errors.js';
import type { TransportRejectReason } from './events.js';
import type { TlsSettings } from './listener.js';
import { PollBatch } from './poll-batch.js';
import { normalizeAddress } from './socket-connection.js';
import type { UwsApp, UwsHttpResponse, UwsListenSocket, UwsModule, UwsWebSocket } from './uws-types.js';
import type { WebSocketEngine, WebSocketPeer, WebSocketPeerEvents, WebSocketPeerInfo, WebSocketServerHandle, WebSocketServerOptions } from './ws-engine.js';

/** Bytes a paused connection may have held for it at least (more when maxMessageBytes is larger). */
export const MIN_HELD_WHILE_PAUSED = 8 * 1024 * 1024;

/**
 * A message of exactly this many bytes sent while the socket has backpressure corrupts the stream
 * in uWS v20.30 (the client reads an invalid frame a few messages later; measured here for 88 sizes
 * from 510 B to 256 KiB, only this one fails): such a frame goes out as two messages.
 */
const CORRUPTED_SIZE = 16 * 1024;

interface PeerSlot {
  address: string;
  peer?: UwsPeer;
}

class UwsPeer implements WebSocketPeer {
  private events: WebSocketPeerEvents | undefined;
  private open = true;
  private paused = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private handing = false;

  constructor(
    private readonly ws: UwsWebSocket<PeerSlot>,
    private readonly heldLimit: number,
    private readonly onOverflow: () => void,
  ) {}

  sendBatch(frames: readonly Buffer[]): void {
    if (!this.open) return;
    // One WebSocket message for the whole batch: a message may hold several MQTT packets
    // [MQTT-6.0.0-2], and each send crosses into uWS (measured: one send per PUBLISH made fan-out
    // to WebSocket subscribers cost ~4x the CPU per message of the ws engine).
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    this.ws.cork(() => {
      if (data.length !== CORRUPTED_SIZE) {
        this.ws.send(data, true, false);
        return;
      }
      // MQTT packets may span WebSocket messages [MQTT-6.0.0-2]: two messages carry the same bytes.
      this.ws.send(data.subarray(0, CORRUPTED_SIZE - 1), true, false);
      this.ws.send(data.subarray(CORRUPTED_SIZE - 1), true, false);
    });
  }

  get bufferedAmount(): number {
    return this.open ? this.ws.getBufferedAmount() : 0;
  }

  get needsDrain(): boolean {
    return this.bufferedAmount > 0;
  }

  close(): void {
    if (this.open) this.ws.end(1000);
  }

  terminate(): void {
    if (this.open) this.ws.close();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    // Handed over on a later turn, as a resumed socket would: never inside the caller's resumeReading.
    if (this.held.length > 0 && !this.handing) {
      this.handing = true;
      setImmediate(() => this.handOver());
    }
  }

  private handOver(): void {
    this.handing = false;
    // The handler may pause again (or close) while the held messages are handed over.
    while (!this.paused && this.open && this.held.length > 0) {
      const data = this.held.shift() as Buffer;
      this.heldBytes -= data.length;
      this.events?.message(data, true);
    }
  }

  bind(events: WebSocketPeerEvents): void {
    this.events = events;
  }

  /** A message uWS read (copied: uWS reuses its ArrayBuffer), handed over now or held while paused. */
  received(data: Buffer, isBinary: boolean): void {
    if (!this.open) return;
    if (!isBinary) {
      this.events?.message(data, false);
      return;
    }
    if (!this.paused && this.held.length === 0) {
      this.events?.message(data, true);
      return;
    }
    this.held.push(data);
    this.heldBytes += data.length;
    // Not paused: resumed, the hand-over is already due (uWS 20.57 delivers a whole burst in one poll).
    if (this.heldBytes <= this.heldLimit || !this.paused) return;
    this.events?.readOverflow();
    if (this.paused) {
      this.onOverflow();
      this.terminate();
    }
  }

  drained(): void {
    this.events?.drain();
  }

  closed(code: number): void {
    this.open = false;
    this.held = [];
    this.heldBytes = 0;
    // 1006: the socket went away without a close handshake (reset, timeout, terminate).
    this.events?.close(code === 1006);
  }
}

/** A message uWS read, for the peer, with the messages of the same poll (poll-batch.ts). */
interface Received {
  peer: UwsPeer;
  data: Buffer;
  isBinary: boolean;
}

function handOver(m: Received): void {
  m.peer.received(m.data, m.isBinary);
}

function offeredProtocols(header: string): string[] {
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

function refuse(res: UwsHttpResponse, status: string): void {
  res.writeStatus(status).writeHeader('Connection', 'close').end('', true);
}

function addressOf(res: UwsHttpResponse): string {
  return normalizeAddress(Buffer.from(res.getRemoteAddressAsText()).toString());
}

/** uWS reads certificate and key from files only: write them privately, build the app, delete them. */
function sslApp(uws: UwsModule, tls: TlsSettings): UwsApp {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-uws-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    writeFileSync(key, tls.key, { mode: 0o600 });
    writeFileSync(cert, tls.cert, { mode: 0o600 });
    return uws.SSLApp({ key_file_name: key, cert_file_name: cert });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** uWS reports a failed bind as `false` only: bind a plain server to the same address to learn why. */
async function bindFailure(transport: Extract<TransportKind, 'ws' | 'wss'>, host: string, port: number): Promise<ListenError> {
  return await new Promise<ListenError>((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(new ListenError(transport, host, port, err.code ?? 'ERROR', err)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(new ListenError(transport, host, port, 'ERROR', new Error('uWebSockets.js could not listen')))));
  });
}

async function listenOn(uws: UwsModule, app: UwsApp, host: string, port: number): Promise<UwsListenSocket | false> {
  return await new Promise((resolve) => app.listen(host, port, uws.LIBUS_LISTEN_EXCLUSIVE_PORT, resolve));
}

export function createUwsEngine(uws: UwsModule): WebSocketEngine {
  return {
    name: 'uws',
    // uWS parses PROXY v2 only, and on an SSLApp inside the TLS stream (measured with v20.30: a
    // header before the ClientHello fails the handshake), so not as load balancers send it.
    proxyProtocol: false,
    async listen(options: WebSocketServerOptions, onPeer: (peer: WebSocketPeer, info: WebSocketPeerInfo) => void): Promise<WebSocketServerHandle> {
      const { transport } = options;
      const rejected = (reason: TransportRejectReason, address: string): void => options.events?.connectionRejected?.(transport, reason, address);
      const app = options.tls === undefined ? uws.App() : sslApp(uws, options.tls);
      const heldLimit = Math.max(options.maxMessageBytes, MIN_HELD_WHILE_PAUSED);
      const peers = new Set<UwsPeer>();
      const inbox = new PollBatch<Received>(handOver);
      let accepting = true;

      app.ws<PeerSlot>(options.path, {
        compression: uws.DISABLED,
        maxPayloadLength: options.maxMessageBytes,
        // Keep alive is the core's (MQTT keep alive); no uWS idle timeout or pings.
        idleTimeout: 0,
        sendPingsAutomatically: false,
        maxBackpressure: 0,
        closeOnBackpressureLimit: false,
        upgrade: (res, req, context) => {
          const address = addressOf(res);
          if (!accepting) {
            refuse(res, '503 Service Unavailable');
            return;
          }
          const protocol = options.selectProtocol(offeredProtocols(req.getHeader('sec-websocket-protocol')));
          if (protocol === undefined) {
            rejected('ws_bad_subprotocol', address);
            refuse(res, '400 Bad Request');
            return;
          }
          const slot: PeerSlot = { address };
          res.upgrade(slot, req.getHeader('sec-websocket-key'), protocol, req.getHeader('sec-websocket-extensions'), context);
        },
        open: (ws) => {
          const slot = ws.getUserData();
          const peer = new UwsPeer(ws, heldLimit, () => rejected('ws_read_overflow', slot.address));
          slot.peer = peer;
          peers.add(peer);
          onPeer(peer, { remoteAddress: slot.address, remotePort: 0 });
        },
        message: (ws, message, isBinary) => {
          const peer = ws.getUserData().peer;
          if (peer !== undefined) inbox.add({ peer, data: Buffer.from(new Uint8Array(message)), isBinary });
        },
        drain: (ws) => ws.getUserData().peer?.drained(),
        close: (ws, code) => {
          const peer = ws.getUserData().peer;
          if (peer === undefined) return;
          peers.delete(peer);
          peer.closed(code);
        },
      });
      app.any('/*', (res, req) => {
        if (req.getHeader('upgrade').toLowerCase() === 'websocket') {
          rejected('ws_bad_path', addressOf(res));
          refuse(res, '404 Not Found');
          return;
        }
        res.writeStatus('426 Upgrade Required').writeHeader('Content-Type', 'text/plain').writeHeader('Upgrade', 'websocket').end('MQTT over WebSocket: connect with a WebSocket client\n');
      });

      const listenSocket = await listenOn(uws, app, options.host, options.port);
      if (listenSocket === false) {
        app.close();
        throw await bindFailure(transport, options.host, options.port);
      }
      let listening = true;
      const stopListening = (): void => {
        if (listening) uws.us_listen_socket_close(listenSocket);
        listening = false;
      };
      return {
        port: uws.us_socket_local_port(listenSocket),
        get connections() {
          return peers.size;
        },
        stopAccepting() {
          accepting = false;
          stopListening();
        },
        async close() {
          accepting = false;
          stopListening();
          // Closes every socket; each open WebSocket's close handler runs before this returns.
          app.close();
        },
      };
    },
  };
}
