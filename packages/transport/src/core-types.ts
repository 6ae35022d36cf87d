/**
 * The slice of the core's contract (packages/core/src/api.ts) the transport implements and
 * calls, named in one place so that every transport file uses the same types.
 */
import type { ClientConnection, ConnectionHandler } from '@mqtt-broker/core';

export type { CertificateNames, ClientConnection, ConnectionHandler, TransportKind } from '@mqtt-broker/core';

/** What a listener hands each accepted connection to: `Broker.accept` satisfies it. */
export interface ConnectionAcceptor {
  accept(connection: ClientConnection): ConnectionHandler;
}
