import type { QoS } from '@mqtt-broker/mqtt-codec';
import type { Session } from '../session/session.js';

/** One subscription of one session, as stored in the router's tries and the session's map. */
export interface SubEntry {
  session: Session;
  /** The filter as subscribed (with any `$share/{group}/` prefix). */
  topicFilter: string;
  /** The filter matched against topics (without the share prefix). */
  matchFilter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  /** [id] when the SUBSCRIBE carried a Subscription Identifier (pre-built, shared by deliveries). */
  subscriptionIds: number[] | undefined;
  group: SharedGroup | undefined;
}

/** The members of one `$share/{group}/{filter}`; messages go to one member, round robin. */
export interface SharedGroup {
  name: string;
  filter: string;
  members: SubEntry[];
  next: number;
}

export function makeSubEntry(
  session: Session,
  topicFilter: string,
  matchFilter: string,
  qos: QoS,
  noLocal: boolean,
  retainAsPublished: boolean,
  retainHandling: 0 | 1 | 2,
  subscriptionId: number | undefined,
  group: SharedGroup | undefined,
): SubEntry {
  return {
    session,
    topicFilter,
    matchFilter,
    qos,
    noLocal,
    retainAsPublished,
    retainHandling,
    subscriptionIds: subscriptionId !== undefined && subscriptionId > 0 ? [subscriptionId] : undefined,
    group,
  };
}
