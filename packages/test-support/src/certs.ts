/**
 * Certificates for TLS tests, made with the openssl CLI (P-256 keys, valid 2 days): a CA, a server
 * certificate signed by it for the given subjectAltName (localhost and 127.0.0.1 by default) and,
 * when asked, a client certificate signed by the same CA with the given Common Name.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertificateOptions {
  /** Where the files go (default: a new temporary directory). */
  dir?: string;
  /** Common Name of the CA (default "Test CA"). */
  caName?: string;
  /** The server certificate's subjectAltName (default "DNS:localhost,IP:127.0.0.1"). */
  san?: string;
  /** Also make a client certificate with this Common Name. */
  clientCommonName?: string;
}

export interface TestCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Set with `clientCommonName`. */
  clientCertFile?: string;
  clientKeyFile?: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  clientCert?: Buffer;
  clientKey?: Buffer;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCertificates(options: CertificateOptions = {}): TestCertificates {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'test-certs-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const signed = (name: string, cn: string, extfile?: string): void => {
    openssl('req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...(extfile === undefined ? [] : ['-extfile', extfile]));
  };
  openssl('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${options.caName ?? 'Test CA'}`);
  execFileSync('sh', ['-c', `printf 'subjectAltName=%s\\n' "$SAN" > san.ext`], { cwd: dir, env: { ...process.env, SAN: options.san ?? 'DNS:localhost,IP:127.0.0.1' } });
  signed('server', 'localhost', 'san.ext');
  const file = (name: string): string => join(dir, name);
  const certs: TestCertificates = {
    dir,
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    ca: readFileSync(file('ca.crt')),
    cert: readFileSync(file('server.crt')),
    key: readFileSync(file('server.key')),
  };
  if (options.clientCommonName !== undefined) {
    signed('client', options.clientCommonName);
    certs.clientCertFile = file('client.crt');
    certs.clientKeyFile = file('client.key');
    certs.clientCert = readFileSync(certs.clientCertFile);
    certs.clientKey = readFileSync(certs.clientKeyFile);
  }
  return certs;
}
