/** Test helpers: a recording acceptor, certificates (test-support's makeCertificates), waits. */
import { makeCertificates, waitUntil } from '@mqtt-broker/test-support';
import type { ClientConnection, ConnectionAcceptor, ConnectionHandler } from '../src/index.js';

export interface Recorded {
  connection: ClientConnection;
  chunks: Buffer[];
  drains: number;
  /** onReadOverflow calls (uws: input held past its bound while paused). */
  overflows: number;
  closed: boolean | undefined;
  received(): Buffer;
}

/** Accepts every connection; echoes bytes back when `echo` is set; records everything. */
export function recordingAcceptor(options: { echo?: boolean; resumeOnOverflow?: boolean; onAccept?: (r: Recorded) => void } = {}): ConnectionAcceptor & { all: Recorded[] } {
  const all: Recorded[] = [];
  return {
    all,
    accept(connection: ClientConnection): ConnectionHandler {
      const rec: Recorded = {
        connection,
        chunks: [],
        drains: 0,
        overflows: 0,
        closed: undefined,
        received: () => Buffer.concat(rec.chunks),
      };
      all.push(rec);
      options.onAccept?.(rec);
      return {
        onData(chunk) {
          rec.chunks.push(chunk);
          if (options.echo === true) connection.write(chunk);
        },
        onDrain() {
          rec.drains++;
        },
        onReadOverflow() {
          rec.overflows++;
          if (options.resumeOnOverflow === true) connection.resumeReading();
        },
        onClose(hadError) {
          rec.closed = hadError;
        },
      };
    },
  };
}

/** test-support's bounded poll, checking every 5 ms. */
export async function waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  await waitUntil(predicate, timeoutMs, what, 5);
}

export interface Certs {
  dir: string;
  caCert: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A client certificate from another CA (must be refused). */
  rogueCert: Buffer;
  rogueKey: Buffer;
}

let cached: Certs | undefined;

/** A CA, a server certificate for localhost and a client certificate with CN "device-42"; a rogue CA's client. */
export function makeCerts(): Certs {
  if (cached !== undefined) return cached;
  const main = makeCertificates({ san: 'DNS:localhost,IP:127.0.0.1,IP:::1', clientCommonName: 'device-42' });
  const rogue = makeCertificates({ caName: 'Rogue CA', clientCommonName: 'intruder' });
  cached = {
    dir: main.dir,
    caCert: main.ca,
    serverCert: main.cert,
    serverKey: main.key,
    clientCert: main.clientCert!,
    clientKey: main.clientKey!,
    rogueCert: rogue.clientCert!,
    rogueKey: rogue.clientKey!,
  };
  return cached;
}
