/** Test helpers: a recording acceptor, self-signed certificates via the openssl CLI, waits. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientConnection, ConnectionAcceptor, ConnectionHandler } from '../src/index.js';

export interface Recorded {
  connection: ClientConnection;
  chunks: Buffer[];
  drains: number;
  closed: boolean | undefined;
  received(): Buffer;
}

/** Accepts every connection; echoes bytes back when `echo` is set; records everything. */
export function recordingAcceptor(options: { echo?: boolean; onAccept?: (r: Recorded) => void } = {}): ConnectionAcceptor & { all: Recorded[] } {
  const all: Recorded[] = [];
  return {
    all,
    accept(connection: ClientConnection): ConnectionHandler {
      const rec: Recorded = {
        connection,
        chunks: [],
        drains: 0,
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
        onClose(hadError) {
          rec.closed = hadError;
        },
      };
    },
  };
}

export async function waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
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

/** A CA, a server certificate for localhost and a client certificate with CN "device-42". */
export function makeCerts(): Certs {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'transport-certs-'));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const selfSigned = (name: string, cn: string): void =>
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`);
  const signed = (name: string, cn: string, ca: string, ext?: string): void => {
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    const extArgs = ext === undefined ? [] : ['-extfile', ext];
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...extArgs);
  };
  selfSigned('ca', 'Test CA');
  selfSigned('rogue-ca', 'Rogue CA');
  execFileSync('sh', ['-c', 'printf "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\\n" > san.ext'], { cwd: dir });
  signed('server', 'localhost', 'ca', 'san.ext');
  signed('client', 'device-42', 'ca');
  signed('rogue', 'intruder', 'rogue-ca');
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  cached = {
    dir,
    caCert: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    rogueCert: read('rogue.crt'),
    rogueKey: read('rogue.key'),
  };
  return cached;
}
