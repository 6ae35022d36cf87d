/**
 * TLS_IDENTITY: a client that presented a verified certificate (TLS or WSS listener) is the name
 * the certificate carries: its subject CN, its first SAN DNS name or its first SAN URI. That name
 * becomes the client's user name, so the ACL file's `user` and `pattern %u` rules apply to it (the
 * CONNECT's user name and password are not looked at). A verified certificate without that name
 * is refused 0x87; a connection without a certificate is left to the next method.
 */
import type { AuthRequest, CertificateNames } from '@mqtt-broker/core';
import { type AuthMethod, type MethodDecision, NOT_AUTHORIZED } from './auth-method.js';

export const CERTIFICATE_IDENTITIES = ['cn', 'san-dns', 'san-uri'] as const;
export type CertificateIdentity = (typeof CERTIFICATE_IDENTITIES)[number];

export function certificateName(certificate: CertificateNames, identity: CertificateIdentity): string | undefined {
  const name = identity === 'cn' ? certificate.commonName : identity === 'san-dns' ? certificate.dnsNames[0] : certificate.uris[0];
  return name === undefined || name.length === 0 ? undefined : name;
}

export function createCertificateMethod(identity: CertificateIdentity): AuthMethod {
  return {
    name: 'certificate',
    checksCredentials: true,
    authenticate(request: AuthRequest): MethodDecision | undefined {
      if (request.certificate === undefined) return undefined;
      const username = certificateName(request.certificate, identity);
      if (username === undefined) return { ok: false, reasonCode: NOT_AUTHORIZED, reason: `certificate_without_${identity.replace('-', '_')}` };
      return { ok: true, username };
    },
  };
}
