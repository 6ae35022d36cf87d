/**
 * JWT authentication: the CONNECT's password (or, in 5.0, the Authentication Data of method
 * `JWT`, which also allows re-authentication with a fresh token) is a compact JWS verified with
 * jose against JWT_KEY_FILE or a JWKS URL (jwks-cache.ts). The method knows a client whose
 * password looks like a JWT (three base64url parts and a JSON header); any other password is left
 * to the next method of the chain.
 *
 * Accepted only if: the signature verifies with an allowed algorithm (never `none`); `exp` is
 * present and not past, `nbf` not ahead, `iat` not ahead, each give or take the leeway; `iss` and
 * `aud` match when configured; the client-id claim equals the CONNECT's client id (a token is
 * for one device). The user name becomes the user-name claim (what the ACL file's `user` and `%u`
 * rules see; the CONNECT's user name is not trusted), the ACL claim (claim-acl.ts) the client's
 * own rules, and exp + leeway the end of the connection (5.0: DISCONNECT 0xA0).
 * Refusals: 0x86 Bad user name or password for a bad token, 0x87 Not authorized for a good token
 * for another client id or with a malformed ACL claim, 0x88 Server unavailable when no key set
 * could be fetched yet.
 */
import type { AuthRequest } from '@mqtt-broker/core';
import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { type AuthMethod, BAD_USER_NAME_OR_PASSWORD, type MethodDecision, NOT_AUTHORIZED, SERVER_UNAVAILABLE } from './auth-method.js';
import { claimAclAttributes } from './claim-acl.js';
import { JwksUnavailableError } from './jwks-cache.js';
import type { JwtKeys } from './jwt-keys.js';

/** The 5.0 Authentication Method name for a token in the Authentication Data. */
export const JWT_AUTH_METHOD = 'JWT';

export interface JwtMethodOptions {
  keys: JwtKeys;
  leewaySeconds: number;
  issuer?: string;
  audience?: string;
  /** Claim that must equal the client id (default `sub`). */
  clientIdClaim?: string;
  /** Claim that becomes the user name (default `sub`). */
  usernameClaim?: string;
  /** Claim with the client's topic rules (default `acl`). */
  aclClaim?: string;
  now?: () => number;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(password: Buffer | undefined): boolean {
  if (password === undefined || password.length > 16_384) return false;
  const text = password.toString('latin1');
  if (!COMPACT_JWS.test(text)) return false;
  try {
    decodeProtectedHeader(text);
    return true;
  } catch {
    return false;
  }
}

function bad(reason: string): MethodDecision {
  return { ok: false, reasonCode: BAD_USER_NAME_OR_PASSWORD, reason };
}

/** jose's error as a refusal reason (a bounded set: it labels a metric). */
function refusalOf(err: unknown): MethodDecision {
  if (err instanceof JwksUnavailableError) return { ok: false, reasonCode: SERVER_UNAVAILABLE, reason: 'jwks_unavailable' };
  if (err instanceof errors.JWTExpired) return bad('token_expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return bad(`token_without_${err.claim === 'exp' ? 'exp' : 'claim'}`);
    if (err.claim === 'nbf') return bad('token_not_yet_valid');
    if (err.claim === 'iss') return bad('token_wrong_issuer');
    if (err.claim === 'aud') return bad('token_wrong_audience');
    return bad('token_bad_claim');
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return bad('token_algorithm_not_allowed');
  if (err instanceof errors.JWSSignatureVerificationFailed) return bad('token_bad_signature');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return bad('token_unknown_key');
  return bad('token_invalid');
}

export function createJwtMethod(options: JwtMethodOptions): AuthMethod {
  const clientIdClaim = options.clientIdClaim ?? 'sub';
  const usernameClaim = options.usernameClaim ?? 'sub';
  const aclClaim = options.aclClaim ?? 'acl';
  const now = options.now ?? Date.now;
  const leeway = options.leewaySeconds;

  const verify = async (token: string, request: AuthRequest): Promise<MethodDecision> => {
    let payload: JWTPayload;
    try {
      const key = options.keys.key;
      const verifyOptions = {
        algorithms: [...options.keys.algorithms],
        clockTolerance: leeway,
        requiredClaims: ['exp'],
        currentDate: new Date(now()),
        ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
        ...(options.audience !== undefined ? { audience: options.audience } : {}),
      };
      // two calls: jose types a key resolver and a key as different overloads
      payload = (typeof key === 'function' ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions)).payload;
    } catch (err) {
      return refusalOf(err);
    }
    if (typeof payload.iat === 'number' && payload.iat > now() / 1000 + leeway) return bad('token_issued_in_future');
    if (payload[clientIdClaim] !== request.clientId) return { ok: false, reasonCode: NOT_AUTHORIZED, reason: 'token_for_other_client' };
    const name = payload[usernameClaim];
    const attributes = payload[aclClaim] === undefined ? undefined : claimAclAttributes(payload[aclClaim]);
    if (typeof attributes === 'string') return { ok: false, reasonCode: NOT_AUTHORIZED, reason: 'token_acl_claim_invalid' };
    return {
      ok: true,
      ...(typeof name === 'string' ? { username: name } : {}),
      ...(attributes !== undefined ? { attributes } : {}),
      expiresAt: ((payload.exp as number) + leeway) * 1000,
    };
  };

  return {
    name: 'jwt',
    checksCredentials: true,
    enhancedMethod: JWT_AUTH_METHOD,
    async authenticate(request: AuthRequest): Promise<MethodDecision | undefined> {
      if (!looksLikeJwt(request.password)) return undefined;
      return verify((request.password as Buffer).toString('latin1'), request);
    },
    async authenticateEnhanced(data: Buffer | undefined, request: AuthRequest): Promise<MethodDecision> {
      if (!looksLikeJwt(data)) return bad('token_malformed');
      return verify((data as Buffer).toString('latin1'), request);
    },
  };
}
