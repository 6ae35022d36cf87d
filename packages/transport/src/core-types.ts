/**
 * The slice of the core's contract (packages/core/src/api.ts) the transport implements and calls,
 * named in one place so that every transport file uses the same types.
 *
 * TEMPORARY MIRROR: structurally identical copies until '@mqtt-broker/core' publishes its index;
 * then this file becomes `export type { ... } from '@mqtt-broker/core'`.
 */

export type TransportKind = 'tcp' | 'tls' | 'ws' | 'wss';

export interface ClientConnection {
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly certificateCommonName?: string;
  write(frame: Buffer): boolean;
  readonly bufferedBytes: number;
  end(): void;
  destroy(): void;
  pauseReading(): void;
  resumeReading(): void;
}

export interface ConnectionHandler {
  onData(chunk: Buffer): void;
  onDrain(): void;
  onClose(hadError: boolean): void;
}

/** What a listener hands each accepted connection to: `Broker.accept` satisfies it. */
export interface ConnectionAcceptor {
  accept(connection: ClientConnection): ConnectionHandler;
}
