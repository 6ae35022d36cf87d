/**
 * Topic rules carried by a token: a claim (JWT_ACL_CLAIM, default `acl`) holding
 * `{ "pub": [filters], "sub": [filters] }`. `pub` filters grant publishing, `sub` filters grant
 * subscribing and reading; %c and %u are substituted like the ACL file's `pattern` rules (a
 * client id or user name with `+`, `#` or `/` gets no substituted rule). A client whose token
 * carries the claim is held to it alone: the ACL file does not widen it. A claim of the wrong
 * shape or with an invalid filter refuses the CONNECT.
 */
import type { AuthAttributes, ClientIdentity } from '@mqtt-broker/core';
import { Acl, AclAccess, AclParseError } from './acl.js';

/** The attribute under which the authorizer finds a client's own rules. */
const ACL_ATTRIBUTE = 'acl';

/** The claim as stored in a client's attributes: plain data, so it travels with a saved session. */
type ClaimRules = {
  readonly pub: readonly string[];
  readonly sub: readonly string[];
};

/**
 * Each claim's compiled Acl, by the attribute value: compiled once per connection (or per session
 * restored on this node), looked up on every check.
 */
const compiled = new WeakMap<object, Acl>();

/** Matches no topic: a restored claim that no longer compiles grants nothing (fail closed). */
const NOTHING = Acl.fromPatterns([]);

function stringList(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) return undefined;
  return value;
}

function compile(rules: ClaimRules): Acl {
  return Acl.fromPatterns([...rules.pub.map((topic) => ({ access: AclAccess.Write, topic })), ...rules.sub.map((topic) => ({ access: AclAccess.Read, topic }))]);
}

/** The attributes carrying a claim value's rules, or an error message. */
export function claimAclAttributes(value: unknown): AuthAttributes | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const claim = value as Record<string, unknown>;
  const pub = stringList(claim.pub);
  const sub = stringList(claim.sub);
  if (pub === undefined || sub === undefined) return '"pub" and "sub" must be lists of topic filters';
  const rules: ClaimRules = { pub: [...pub], sub: [...sub] };
  try {
    compiled.set(rules, compile(rules));
  } catch (err) {
    if (err instanceof AclParseError) return err.message;
    throw err;
  }
  return { [ACL_ATTRIBUTE]: rules };
}

function isClaimRules(value: unknown): value is ClaimRules {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return Array.isArray(v.pub) && Array.isArray(v.sub) && stringList(v.pub) !== undefined && stringList(v.sub) !== undefined;
}

/** The client's own Acl (from its token), if it has one; a session restored from a snapshot compiles it here. */
export function ownAcl(client: ClientIdentity): Acl | undefined {
  const rules = client.attributes?.[ACL_ATTRIBUTE];
  if (rules === undefined || rules === null || typeof rules !== 'object') return undefined;
  const cached = compiled.get(rules);
  if (cached !== undefined) return cached;
  let acl = NOTHING;
  try {
    if (isClaimRules(rules)) acl = compile(rules);
  } catch {
    // an invalid filter in a stored claim: NOTHING
  }
  compiled.set(rules, acl);
  return acl;
}
