/**
 * The slice of the uWebSockets.js API the uws engine uses, typed here: the two builds we load
 * (uws-loader.ts) ship different declaration files for different versions, and neither is
 * imported at compile time (both are optional dependencies). Every method below exists with this
 * meaning in both (v20.30 and v20.57).
 */

/** A listening socket; `false` in the listen callback means the bind failed. */
export type UwsListenSocket = object;
/** The socket context an upgrade is completed in. */
export type UwsSocketContext = object;

export interface UwsHttpRequest {
  /** Lower-case header name; '' when absent. Valid only during the handler call. */
  getHeader(lowerCaseName: string): string;
  getUrl(): string;
}

export interface UwsHttpResponse {
  writeStatus(status: string): UwsHttpResponse;
  writeHeader(key: string, value: string): UwsHttpResponse;
  /** Ends the response; `closeConnection` closes the socket after it. */
  end(body?: string, closeConnection?: boolean): UwsHttpResponse;
  upgrade<T>(userData: T, secWebSocketKey: string, secWebSocketProtocol: string, secWebSocketExtensions: string, context: UwsSocketContext): void;
  getRemoteAddressAsText(): ArrayBuffer;
  onAborted(handler: () => void): UwsHttpResponse;
}

/** An open WebSocket: valid from `open` until its `close` handler returns (any call after throws). */
export interface UwsWebSocket<T> {
  /** 1 sent, 0 sent and buffered (backpressure), 2 dropped (maxBackpressure, which we leave unlimited). */
  send(message: Uint8Array, isBinary: boolean, compress: boolean): number;
  getBufferedAmount(): number;
  /** Close handshake with `code`. */
  end(code: number): void;
  /** Drop the socket, no close frame. */
  close(): void;
  /** Runs `cb` with the socket corked: its sends leave in one syscall / TLS record. */
  cork(cb: () => void): void;
  getRemoteAddressAsText(): ArrayBuffer;
  getUserData(): T;
}

export interface UwsBehavior<T> {
  compression: number;
  maxPayloadLength: number;
  idleTimeout: number;
  maxBackpressure: number;
  closeOnBackpressureLimit: boolean;
  sendPingsAutomatically: boolean;
  upgrade(res: UwsHttpResponse, req: UwsHttpRequest, context: UwsSocketContext): void;
  open(ws: UwsWebSocket<T>): void;
  message(ws: UwsWebSocket<T>, message: ArrayBuffer, isBinary: boolean): void;
  drain(ws: UwsWebSocket<T>): void;
  close(ws: UwsWebSocket<T>, code: number, message: ArrayBuffer): void;
}

export interface UwsApp {
  ws<T>(pattern: string, behavior: UwsBehavior<T>): UwsApp;
  any(pattern: string, handler: (res: UwsHttpResponse, req: UwsHttpRequest) => void): UwsApp;
  listen(host: string, port: number, options: number, cb: (socket: UwsListenSocket | false) => void): UwsApp;
  /** Close every socket of the app, listening and connected. */
  close(): void;
}

export interface UwsSslOptions {
  key_file_name: string;
  cert_file_name: string;
}

/** The module object of a uWebSockets.js native binary. */
export interface UwsModule {
  App(): UwsApp;
  SSLApp(options: UwsSslOptions): UwsApp;
  us_listen_socket_close(socket: UwsListenSocket): void;
  us_socket_local_port(socket: UwsListenSocket): number;
  /** listen() option: no SO_REUSEPORT, so a second bind of a used port fails like Node's. */
  readonly LIBUS_LISTEN_EXCLUSIVE_PORT: number;
  readonly DISABLED: number;
}
