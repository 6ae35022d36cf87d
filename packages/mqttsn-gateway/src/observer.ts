/** Why a datagram was dropped without an answer (label of mqtt_sn_dropped_datagrams_total). */
export type SnDropReason =
  | 'bad_length'
  | 'unknown_type'
  | 'malformed'
  | 'oversize'
  | 'rate_limited'
  | 'too_many_clients'
  | 'not_connected'
  | 'unexpected'
  | 'unknown_topic_id'
  | 'congested'
  | 'not_authorized';

/** What the gateway reports; called synchronously, implementations must be cheap. */
export interface GatewayObserver {
  packetReceived(typeName: string): void;
  packetSent(typeName: string): void;
  datagramDropped(reason: SnDropReason): void;
  /** A gateway-initiated PUBLISH, PUBREL or REGISTER sent again after Tretry. */
  retransmitted(typeName: string): void;
  /** A bug or an unexpected state: the client concerned is closed, the gateway goes on. */
  clientError(clientId: string | undefined, error: unknown): void;
}

export const noopGatewayObserver: GatewayObserver = {
  packetReceived() {},
  packetSent() {},
  datagramDropped() {},
  retransmitted() {},
  clientError() {},
};

/** Gauges, read on scrape. */
export interface GatewayStats {
  clientsAwake: number;
  clientsAsleep: number;
  /** Normal topic ids registered, summed over clients. */
  registeredTopicIds: number;
}
