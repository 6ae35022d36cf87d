/**
 * The names in a TLS client certificate that the handshake verified (signed by the listener's
 * CA, in date, not in its CRL). An unverified certificate (the listener asks for one but does not
 * require it) yields nothing: its names must not identify anybody.
 */
import type { TLSSocket } from 'node:tls';
import type { CertificateNames } from './core-types.js';

/** subjectAltName as Node prints it: `DNS:a.example, URI:spiffe://x/y, IP Address:10.0.0.1`. */
function altNames(subjectAltName: string | undefined, prefix: string): string[] {
  if (subjectAltName === undefined) return [];
  const out: string[] = [];
  for (const entry of subjectAltName.split(/,\s*/)) {
    if (entry.startsWith(prefix)) out.push(entry.slice(prefix.length).replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

export function verifiedCertificate(socket: TLSSocket): CertificateNames | undefined {
  if (!socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (peer === undefined || Object.keys(peer).length === 0) return undefined;
  const cn = peer.subject?.CN;
  return {
    commonName: Array.isArray(cn) ? cn[0] : cn,
    dnsNames: altNames(peer.subjectaltname, 'DNS:'),
    uris: altNames(peer.subjectaltname, 'URI:'),
  };
}
