/**
 * A certificate authority for the client-certificate misuse tests, run with `openssl ca` so that it
 * can issue certificates valid in the past (expired), revoke them and write a CRL. It signs with
 * the CA of `makeCertificates` (test-support), whose server certificate the broker presents.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificates, type TestCertificates } from '@mqtt-broker/test-support';

export interface ClientCertificate {
  certFile: string;
  keyFile: string;
}

export class TestCa {
  readonly certs: TestCertificates;
  readonly crlFile: string;
  private readonly dir: string;

  constructor(caName = 'Fleet CA') {
    this.certs = makeCertificates({ caName });
    this.dir = this.certs.dir;
    this.crlFile = join(this.dir, 'crl.pem');
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(join(this.dir, 'serial'), '1000\n');
    writeFileSync(join(this.dir, 'crlnumber'), '1000\n');
    writeFileSync(
      join(this.dir, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = CA_default',
        '[ CA_default ]',
        'dir = .',
        'database = index.txt',
        'new_certs_dir = .',
        'certificate = ca.crt',
        'private_key = ca.key',
        'serial = serial',
        'crlnumber = crlnumber',
        'default_md = sha256',
        'default_crl_days = 2',
        'policy = policy_any',
        'unique_subject = no',
        '[ policy_any ]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    this.writeCrl();
  }

  get caFile(): string {
    return this.certs.caFile;
  }

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }

  /** A client certificate for `cn`; `expired` makes one valid only in 2020; `san` e.g. "DNS:dev-1.fleet,URI:spiffe://fleet/dev-1". */
  issue(name: string, cn: string, options: { expired?: boolean; san?: string } = {}): ClientCertificate {
    this.openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, options.san === undefined ? 'basicConstraints=CA:FALSE\n' : `basicConstraints=CA:FALSE\nsubjectAltName=${options.san}\n`);
    const dates = options.expired === true ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'] : ['-days', '2'];
    this.openssl('ca', '-batch', '-config', 'ca.cnf', '-in', `${name}.csr`, '-out', `${name}.crt`, '-extfile', ext, ...dates);
    return { certFile: join(this.dir, `${name}.crt`), keyFile: join(this.dir, `${name}.key`) };
  }

  /** Revoke and rewrite the CRL file. */
  revoke(certificate: ClientCertificate): void {
    this.openssl('ca', '-config', 'ca.cnf', '-revoke', certificate.certFile);
    this.writeCrl();
  }

  private writeCrl(): void {
    this.openssl('ca', '-config', 'ca.cnf', '-gencrl', '-out', this.crlFile);
  }
}
