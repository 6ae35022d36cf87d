/**
 * Topic rules carried by a token: a claim (JWT_ACL_CLAIM, default `acl`) holding
 * `{ "pub": [filters], "sub": [filters] }`. `pub` filters grant publishing, `sub` filters grant
 * subscribing and reading; %c and %u are substituted like the ACL file's `pattern` rules (a
 * client id or user name with `+`, `#` or `/` gets no substituted rule). A client whose token
 * carries the claim is held to it alone: the ACL file does not widen it. A claim of the wrong
 * shape or with an invalid filter refuses the CONNECT.
 */
import type { AuthAttributes, ClientIdentity } from '@mqtt-broker/core';
import { Acl, AclAccess, AclParseError, type AclRule } from './acl.js';

/** The attribute under which the authorizer finds a client's own Acl. */
const ACL_ATTRIBUTE = 'acl';

function stringList(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) return undefined;
  return value;
}

/** The Acl of a claim value, or an error message. */
export function aclFromClaim(value: unknown): Acl | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const claim = value as Record<string, unknown>;
  const pub = stringList(claim.pub);
  const sub = stringList(claim.sub);
  if (pub === undefined || sub === undefined) return '"pub" and "sub" must be lists of topic filters';
  const rules: AclRule[] = [...pub.map((topic) => ({ access: AclAccess.Write, topic })), ...sub.map((topic) => ({ access: AclAccess.Read, topic }))];
  try {
    return Acl.fromPatterns(rules);
  } catch (err) {
    if (err instanceof AclParseError) return err.message;
    throw err;
  }
}

export function aclAttributes(acl: Acl): AuthAttributes {
  return { [ACL_ATTRIBUTE]: acl };
}

/** The client's own Acl (from its token), if it has one. */
export function ownAcl(client: ClientIdentity): Acl | undefined {
  const acl = client.attributes?.[ACL_ATTRIBUTE];
  return acl instanceof Acl ? acl : undefined;
}
