/**
 * The Authorizer over an Acl (see acl.ts for the rule semantics). The Acl is the client's own
 * (from its token's claims, claim-acl.ts) when it has one, else the ACL file's; with neither,
 * the client may do anything, as without an ACL_FILE.
 *
 * canPublish(topic): write access. Like mosquitto's acl__check_dollar, topics starting with "$SYS"
 *   (mosquitto compares the first 4 characters) and "$share" can never be published by a client.
 * canRead(topic): read access for a message about to be delivered; "$share" topics never.
 * canSubscribe(filter): mosquitto 2.0.11 grants every SUBSCRIBE and only filters at delivery
 *   (verified against the binary: SUBACK grants even a filter the client can read nothing from).
 *   We answer the SUBSCRIBE more usefully and never more strictly than what delivery allows: a
 *   filter (the inner filter for `$share/{group}/{filter}`) is granted when some read rule R of the
 *   client intersects it (meet(R, filter) exists, honouring the '$' rule) and that intersection is
 *   not entirely covered by one deny rule evaluated before R. So a refusal means no topic matching
 *   the filter could ever be read; a grant can still deliver nothing (e.g. covered by several
 *   denies together), and canRead filters every delivery anyway.
 */
import type { Authorizer, ClientIdentity } from '@mqtt-broker/core';
import { parseSharedFilter } from '@mqtt-broker/topics';
import { type Acl, AclAccess } from './acl.js';
import { ownAcl } from './claim-acl.js';
import { covers, meet } from './filter-algebra.js';

function innerFilter(filter: string): string | undefined {
  try {
    return parseSharedFilter(filter)?.filter ?? filter;
  } catch {
    return undefined;
  }
}

function canSubscribeWith(acl: Acl, client: ClientIdentity, topicFilter: string): boolean {
  const filter = innerFilter(topicFilter);
  if (filter === undefined) return false;
  for (const scope of acl.readScopes(client)) {
    const common = meet(scope.grant, filter);
    if (common === undefined) continue;
    if (!scope.denies.some((deny) => covers(deny, common))) return true;
  }
  return false;
}

/** `fileAcl` undefined: only clients with an Acl of their own are restricted. */
export function createAclAuthorizer(fileAcl: Acl | undefined): Authorizer {
  const aclOf = (client: ClientIdentity): Acl | undefined => ownAcl(client) ?? fileAcl;
  return {
    canPublish(client: ClientIdentity, topic: string): boolean {
      const acl = aclOf(client);
      if (acl === undefined) return true;
      if (topic.startsWith('$SYS') || topic.startsWith('$share')) return false;
      return acl.check(client, topic, AclAccess.Write);
    },
    canRead(client: ClientIdentity, topic: string): boolean {
      const acl = aclOf(client);
      if (acl === undefined) return true;
      if (topic.startsWith('$share')) return false;
      return acl.check(client, topic, AclAccess.Read);
    },
    canSubscribe(client: ClientIdentity, topicFilter: string): boolean {
      const acl = aclOf(client);
      return acl === undefined ? true : canSubscribeWith(acl, client, topicFilter);
    },
  };
}
