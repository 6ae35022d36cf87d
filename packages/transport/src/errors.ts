import type { TransportKind } from './core-types.js';

/**
 * A listener could not bind. `code` is Node's system error code (EADDRINUSE, EACCES,
 * EADDRNOTAVAIL, ...); the message names the transport, host and port, e.g.
 * `tcp listener 0.0.0.0:1883: address already in use`.
 */
export class ListenError extends Error {
  readonly code: string;
  readonly transport: TransportKind;
  readonly host: string;
  readonly port: number;
  /** Short human description of `code` ("address already in use"). */
  readonly description: string;

  constructor(transport: TransportKind, host: string, port: number, code: string, cause?: Error) {
    const description = describeCode(code, cause);
    super(`${transport} listener ${formatHostPort(host, port)}: ${description}`, { cause });
    this.name = 'ListenError';
    this.code = code;
    this.transport = transport;
    this.host = host;
    this.port = port;
    this.description = description;
  }
}

/** Raised for a malformed or unsupported PROXY protocol header. */
export class ProxyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyProtocolError';
  }
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function describeCode(code: string, cause: Error | undefined): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EACCES':
      return 'permission denied';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host';
    default:
      return cause?.message ?? code;
  }
}
