import type { TransportKind } from './core-types.js';

/** Why the transport closed a socket on its own, before the core saw any byte of it. */
export type TransportRejectReason =
  | 'proxy_header_invalid'
  | 'proxy_header_timeout'
  | 'ws_bad_path'
  | 'ws_bad_subprotocol'
  | 'ws_text_frame'
  /** uws engine: a paused connection kept sending past its held-bytes bound. */
  | 'ws_read_overflow'
  | 'tls_handshake_failed';

/**
 * What the transport reports to the service (metrics, debug logs). The transport decides nothing
 * about these: it counts, closes, and carries on. Every method must be cheap.
 */
export interface TransportEvents {
  /** A socket (or the listening server) raised an error; the process keeps running. */
  socketError?(transport: TransportKind, error: Error): void;
  /** A socket was closed by the transport itself (see `TransportRejectReason`). */
  connectionRejected?(transport: TransportKind, reason: TransportRejectReason, address: string): void;
}
