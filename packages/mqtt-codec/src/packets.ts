/**
 * The MQTT control packets as plain objects, shared by every protocol level.
 *
 * One shape per packet type serves MQTT 3.1 (level 3), 3.1.1 (level 4) and 5.0 (level 5):
 * fields that only exist in 5.0 (reason codes on acks, properties) are optional and ignored
 * when serializing for an older level. Binary fields (payloads, passwords, correlation data)
 * are Buffers that may be views into the parser's input: copy them if you keep them past the
 * next chunk you feed the parser AND the transport reuses its buffers (Node's sockets do not).
 */

export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];

/** User Property (0x26): name/value pairs, order preserved, names may repeat. */
export type UserProperty = readonly [name: string, value: string];

/**
 * Every MQTT 5.0 property (spec 2.2.2.2). Byte-valued flags keep their wire value (0 or 1)
 * so that a property can be passed through unchanged. Which properties a packet may carry is
 * checked by the parser and the serializer (see properties.ts).
 */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four byte integer
  contentType?: string; // 0x03 UTF-8
  responseTopic?: string; // 0x08 UTF-8
  correlationData?: Buffer; // 0x09 binary
  /** 0x0B variable byte integer; several on a PUBLISH to a subscriber, at most one on SUBSCRIBE */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11 four byte integer
  assignedClientIdentifier?: string; // 0x12 UTF-8
  serverKeepAlive?: number; // 0x13 two byte integer
  authenticationMethod?: string; // 0x15 UTF-8
  authenticationData?: Buffer; // 0x16 binary
  requestProblemInformation?: number; // 0x17 byte
  willDelayInterval?: number; // 0x18 four byte integer
  requestResponseInformation?: number; // 0x19 byte
  responseInformation?: string; // 0x1A UTF-8
  serverReference?: string; // 0x1C UTF-8
  reasonString?: string; // 0x1F UTF-8
  receiveMaximum?: number; // 0x21 two byte integer
  topicAliasMaximum?: number; // 0x22 two byte integer
  topicAlias?: number; // 0x23 two byte integer
  maximumQoS?: number; // 0x24 byte
  retainAvailable?: number; // 0x25 byte
  userProperties?: UserProperty[]; // 0x26 string pair, repeatable
  maximumPacketSize?: number; // 0x27 four byte integer
  wildcardSubscriptionAvailable?: number; // 0x28 byte
  subscriptionIdentifiersAvailable?: number; // 0x29 byte
  sharedSubscriptionAvailable?: number; // 0x2A byte
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Will properties (5.0 only). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 1;
  /** 'MQIsdp' for level 3, 'MQTT' for levels 4 and 5 [MQTT-3.1.2-1]. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1, 3.1.1) / Clean Start (5.0). */
  clean: boolean;
  keepAlive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 2;
  sessionPresent: boolean;
  /** 3.1/3.1.1 return code (0-5) or 5.0 reason code. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 3;
  dup: boolean;
  qos: QoS;
  retain: boolean;
  /** May be '' in 5.0 when a Topic Alias property carries the topic. */
  topic: string;
  /** Present for QoS 1 and 2 (1..65535), absent for QoS 0. */
  packetId?: number;
  payload: Buffer;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP. reasonCode 0 is written as the short form when allowed. */
export interface AckPacket<T extends 4 | 5 | 6 | 7 = 4 | 5 | 6 | 7> {
  type: T;
  packetId: number;
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = AckPacket<4>;
export type PubrecPacket = AckPacket<5>;
export type PubrelPacket = AckPacket<6>;
export type PubcompPacket = AckPacket<7>;

export interface Subscription {
  topicFilter: string;
  /** Maximum QoS requested. */
  qos: QoS;
  /** 5.0 subscription options; false/0 for older levels. */
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 8;
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 9;
  packetId: number;
  /** Granted QoS or failure (0x80) for 3.1.1, reason codes for 5.0. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 10;
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 11;
  packetId: number;
  /** 5.0 only; empty for older levels. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 12;
}

export interface PingrespPacket {
  type: 13;
}

export interface DisconnectPacket {
  type: 14;
  /** 5.0 only; 0 for older levels. */
  reasonCode: number;
  properties?: Properties;
}

export interface AuthPacket {
  type: 15;
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
