/**
 * The small interface the WebSocket transport needs from a WebSocket server implementation:
 * `ws` (ws-engine-ws.ts) or uWebSockets.js (ws-engine-uws.ts) under the same ClientConnection
 * logic (ws-connection.ts).
 */
import type { CertificateNames, TransportKind } from './core-types.js';
import type { TransportEvents } from './events.js';
import type { ProxyProtocolOptions, TlsSettings } from './listener.js';

/** One accepted WebSocket. */
export interface WebSocketPeer {
  /** Send the buffers (MQTT packets of one turn) as one binary message [MQTT-6.0.0-2]. */
  sendBatch(frames: readonly Buffer[]): void;
  /** Bytes accepted by send and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** True while the underlying socket owes a 'drain' event. */
  readonly needsDrain: boolean;
  /** Close handshake (code 1000), then the socket closes. */
  close(): void;
  /** Drop the socket now. */
  terminate(): void;
  pause(): void;
  resume(): void;
  /** Start delivering events; called once. */
  bind(events: WebSocketPeerEvents): void;
}

export interface WebSocketPeerEvents {
  message(data: Buffer, isBinary: boolean): void;
  /** The engine holds as much input as it may while paused (it cannot stop reading): resume, or it closes. */
  readOverflow(): void;
  drain(): void;
  close(hadError: boolean): void;
  error(error: Error): void;
}

export interface WebSocketPeerInfo {
  remoteAddress: string;
  remotePort: number;
  /** Verified client certificate subject CN (wss with client certificates required). */
  certificateCommonName?: string;
  /** Names of a verified client certificate (wss asking for client certificates). */
  certificate?: CertificateNames;
}

/** `proxyProtocol`: the header comes before the HTTP upgrade (before the TLS handshake on wss). */
export interface WebSocketServerOptions extends ProxyProtocolOptions {
  transport: Extract<TransportKind, 'ws' | 'wss'>;
  host: string;
  port: number;
  /** URL path accepted for upgrades, e.g. '/mqtt'; anything else gets 404. */
  path: string;
  /** Picks the subprotocol from those the client offered; undefined rejects the upgrade (400). */
  selectProtocol(offered: readonly string[]): string | undefined;
  /** Largest WebSocket message accepted, bytes. */
  maxMessageBytes: number;
  tls?: TlsSettings;
  events?: TransportEvents;
}

export interface WebSocketServerHandle {
  readonly port: number;
  readonly connections: number;
  stopAccepting(): void;
  close(): Promise<void>;
  /** New TLS handshakes use these settings (wss only). */
  reloadTls?(tls: TlsSettings): void;
}

export type WebSocketEngineName = 'ws' | 'uws';

export interface WebSocketEngine {
  readonly name: WebSocketEngineName;
  /** Whether `listen` accepts `proxyProtocol`. */
  readonly proxyProtocol: boolean;
  listen(options: WebSocketServerOptions, onPeer: (peer: WebSocketPeer, info: WebSocketPeerInfo) => void): Promise<WebSocketServerHandle>;
}
