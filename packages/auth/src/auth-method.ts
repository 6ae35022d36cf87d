/**
 * Authentication methods tried in a configured order (AUTH_CHAIN): each method either decides
 * about a client (accept, or refuse with a reason code and a reason for the log and the metric)
 * or does not know it (`undefined`: no certificate, not a token, not in the file, the hook said
 * "ignore"), and the next method is asked. The first method that knows the client decides.
 *
 * Nobody knew the client:
 *   no user name                      -> accepted when allowAnonymous, else 0x87 Not authorized
 *   a user name, and some method of
 *   the chain checks credentials      -> 0x86 Bad user name or password (an unknown user)
 *   a user name, no such method       -> accepted when allowAnonymous, else 0x87 (mosquitto 2.0)
 * A method that throws refuses the client (0x80 Unspecified error); it never fails the broker.
 */
import type { AuthGrant, AuthRequest, AuthResult, Authenticator, EnhancedAuthStep } from '@mqtt-broker/core';

export const BAD_USER_NAME_OR_PASSWORD = 0x86;
export const NOT_AUTHORIZED = 0x87;
export const SERVER_UNAVAILABLE = 0x88;
export const UNSPECIFIED_ERROR = 0x80;

export type MethodRefusal = { ok: false; reasonCode: number; reason: string };
export type MethodDecision = ({ ok: true } & AuthGrant) | MethodRefusal;

export interface AuthMethod {
  /** Its name in AUTH_CHAIN, logs and metrics: `jwt`, `password-file`, `certificate`, `http`. */
  readonly name: string;
  /** True when it verifies credentials: a user name no method knows is then refused. */
  readonly checksCredentials: boolean;
  /** undefined: this method does not know the client. */
  authenticate(request: AuthRequest): MethodDecision | undefined | Promise<MethodDecision | undefined>;
  /** A 5.0 Authentication Method it completes in one step (the Authentication Data is the credential). */
  readonly enhancedMethod?: string;
  authenticateEnhanced?(data: Buffer | undefined, request: AuthRequest): Promise<MethodDecision>;
}

/** One refused CONNECT (or re-authentication), for the log line and the refusal counter. */
export interface AuthRefusal {
  method: string;
  reason: string;
  reasonCode: number;
  clientId: string;
  username: string | undefined;
  address: string;
}

export interface AuthChainOptions {
  allowAnonymous: boolean;
  onRefusal?: (refusal: AuthRefusal) => void;
}

const OK: AuthResult = { ok: true };

function refuse(reasonCode: number, reason: string): MethodRefusal {
  return { ok: false, reasonCode, reason };
}

export function createAuthChain(methods: readonly AuthMethod[], options: AuthChainOptions): Authenticator {
  const checksCredentials = methods.some((m) => m.checksCredentials);
  const report = (method: string, refusal: MethodRefusal, request: AuthRequest): AuthResult => {
    options.onRefusal?.({ method, reason: refusal.reason, reasonCode: refusal.reasonCode, clientId: request.clientId, username: request.username, address: request.address });
    return { ok: false, reasonCode: refusal.reasonCode };
  };
  const outcome = (method: string, decision: MethodDecision, request: AuthRequest): AuthResult => {
    if (!decision.ok) return report(method, decision, request);
    const { ok: _ok, ...grant } = decision;
    return { ok: true, ...grant };
  };
  const enhanced = new Map<string, AuthMethod>();
  for (const m of methods) if (m.enhancedMethod !== undefined && m.authenticateEnhanced !== undefined) enhanced.set(m.enhancedMethod, m);

  const authenticator: Authenticator = {
    async authenticate(request: AuthRequest): Promise<AuthResult> {
      for (const method of methods) {
        let decision: MethodDecision | undefined;
        try {
          decision = await method.authenticate(request);
        } catch {
          decision = refuse(UNSPECIFIED_ERROR, 'internal_error');
        }
        if (decision !== undefined) return outcome(method.name, decision, request);
      }
      if (request.username === undefined) return options.allowAnonymous ? OK : report('chain', refuse(NOT_AUTHORIZED, 'anonymous'), request);
      if (checksCredentials) return report('chain', refuse(BAD_USER_NAME_OR_PASSWORD, 'unknown_user'), request);
      return options.allowAnonymous ? OK : report('chain', refuse(NOT_AUTHORIZED, 'anonymous'), request);
    },
  };
  if (enhanced.size === 0) return authenticator;
  return {
    ...authenticator,
    enhancedMethods: [...enhanced.keys()],
    async startEnhanced(name: string, data: Buffer | undefined, request: AuthRequest): Promise<EnhancedAuthStep> {
      const method = enhanced.get(name);
      let decision: MethodDecision;
      try {
        decision = method?.authenticateEnhanced === undefined ? refuse(0x8c, 'bad_method') : await method.authenticateEnhanced(data, request);
      } catch {
        decision = refuse(UNSPECIFIED_ERROR, 'internal_error');
      }
      const result = outcome(method?.name ?? name, decision, request);
      return result.ok ? { done: true, ...result } : { done: true, ok: false, reasonCode: result.reasonCode };
    },
  };
}
