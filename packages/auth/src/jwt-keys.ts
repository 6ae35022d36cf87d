/**
 * JWT_KEY_FILE: what the tokens are verified against, and which algorithms it allows by default.
 *   PEM (public key, certificate or private key) -> its public key: RSA -> RS256/384/512,
 *                                                   EC P-256 -> ES256, P-384 -> ES384, Ed25519 -> EdDSA
 *   JSON (a JWK or a JWK set)                    -> the set; every supported algorithm, each key
 *                                                   matched to the token's alg and kid by jose
 *   anything else                                -> an HMAC secret (the file's bytes, trailing
 *                                                   newline dropped, 32 bytes at least): HS256/384/512
 * A public key never allows an HS algorithm by default, and jose refuses HMAC with a public key
 * object anyway: a token "signed" with the public key's PEM as HMAC secret does not verify.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
export const ASYMMETRIC_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'EdDSA'];
const HMAC: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512'];
const MIN_SECRET_BYTES = 32;

export interface JwtKeys {
  readonly key: KeyObject | Uint8Array | JWTVerifyGetKey;
  readonly algorithms: readonly JwtAlgorithm[];
}

export class JwtKeyFileError extends Error {
  constructor(path: string, detail: string) {
    super(`JWT key file "${path}": ${detail}`);
    this.name = 'JwtKeyFileError';
  }
}

function publicKeyAlgorithms(key: KeyObject): readonly JwtAlgorithm[] | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1' ? ['ES256'] : curve === 'secp384r1' ? ['ES384'] : undefined;
    }
    case 'ed25519':
      return ['EdDSA'];
    default:
      return undefined;
  }
}

export function parseJwtKeys(data: Buffer, path: string): JwtKeys {
  const text = data.toString('utf8');
  if (text.includes('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey(text);
    } catch (err) {
      throw new JwtKeyFileError(path, `not a usable PEM key (${(err as Error).message})`);
    }
    const algorithms = publicKeyAlgorithms(key);
    if (algorithms === undefined) throw new JwtKeyFileError(path, `unsupported key type ${key.asymmetricKeyType}`);
    return { key, algorithms };
  }
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new JwtKeyFileError(path, 'invalid JSON');
    }
    const set = (Array.isArray((parsed as JSONWebKeySet).keys) ? parsed : { keys: [parsed] }) as JSONWebKeySet;
    return { key: createLocalJWKSet(set), algorithms: JWT_ALGORITHMS };
  }
  const secret = data.subarray(0, data.length - (text.endsWith('\r\n') ? 2 : text.endsWith('\n') ? 1 : 0));
  if (secret.length < MIN_SECRET_BYTES) throw new JwtKeyFileError(path, `an HMAC secret needs ${MIN_SECRET_BYTES} bytes at least (got ${secret.length})`);
  return { key: new Uint8Array(secret), algorithms: HMAC };
}

export async function loadJwtKeyFile(path: string): Promise<JwtKeys> {
  return parseJwtKeys(await readFile(path), path);
}
