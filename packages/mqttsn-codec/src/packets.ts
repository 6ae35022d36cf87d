/**
 * The MQTT-SN 1.2 messages (specification section 5.4) as plain objects.
 *
 * Binary fields (PUBLISH data, WILLMSG, an Encapsulated message's inner message, a wireless node
 * id) are views into the decoded datagram, not copies: copy them if you keep them past the
 * datagram's life. Topic ids of type "short topic name" are carried as their two bytes read as
 * one big-endian uint16 in PUBLISH (`shortTopicId`/`shortTopicName` convert), and as the
 * two-character string in SUBSCRIBE/UNSUBSCRIBE, where the field is a topic name.
 */

export const SnType = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
  ENCAPSULATED: 0xfe,
} as const;
export type SnTypeCode = (typeof SnType)[keyof typeof SnType];

/** QoS as MQTT-SN carries it: -1 is "publish without connection" (QoS flag bits 11). */
export type SnQoS = -1 | 0 | 1 | 2;

/** TopicIdType flag bits (5.3.4). */
export const TopicIdType = {
  NORMAL: 0,
  PREDEFINED: 1,
  SHORT: 2,
} as const;
export type TopicIdTypeCode = (typeof TopicIdType)[keyof typeof TopicIdType];

/** ReturnCode values (5.3.10). */
export const ReturnCode = {
  ACCEPTED: 0x00,
  CONGESTION: 0x01,
  INVALID_TOPIC_ID: 0x02,
  NOT_SUPPORTED: 0x03,
} as const;

export interface AdvertisePacket {
  type: typeof SnType.ADVERTISE;
  gwId: number;
  /** Seconds until the next ADVERTISE. */
  duration: number;
}
export interface SearchGwPacket {
  type: typeof SnType.SEARCHGW;
  radius: number;
}
export interface GwInfoPacket {
  type: typeof SnType.GWINFO;
  gwId: number;
  /** Present only when a client answers on behalf of a gateway. */
  gwAddress?: Buffer;
}
export interface ConnectPacket {
  type: typeof SnType.CONNECT;
  will: boolean;
  cleanSession: boolean;
  /** Always 0x01 for MQTT-SN 1.2. */
  protocolId: number;
  /** Keep alive, seconds. */
  duration: number;
  clientId: string;
}
export interface ReturnCodePacket<T extends number> {
  type: T;
  returnCode: number;
}
export type ConnackPacket = ReturnCodePacket<typeof SnType.CONNACK>;
export type WillTopicRespPacket = ReturnCodePacket<typeof SnType.WILLTOPICRESP>;
export type WillMsgRespPacket = ReturnCodePacket<typeof SnType.WILLMSGRESP>;

export interface EmptyPacket<T extends number> {
  type: T;
}
export type WillTopicReqPacket = EmptyPacket<typeof SnType.WILLTOPICREQ>;
export type WillMsgReqPacket = EmptyPacket<typeof SnType.WILLMSGREQ>;
export type PingRespPacket = EmptyPacket<typeof SnType.PINGRESP>;

export interface WillTopicFields<T extends number> {
  type: T;
  /** undefined: the empty form (no flags, no topic), which deletes the will. */
  topic: string | undefined;
  qos: 0 | 1 | 2;
  retain: boolean;
}
export type WillTopicPacket = WillTopicFields<typeof SnType.WILLTOPIC>;
export type WillTopicUpdPacket = WillTopicFields<typeof SnType.WILLTOPICUPD>;

export interface WillMsgFields<T extends number> {
  type: T;
  message: Buffer;
}
export type WillMsgPacket = WillMsgFields<typeof SnType.WILLMSG>;
export type WillMsgUpdPacket = WillMsgFields<typeof SnType.WILLMSGUPD>;

export interface RegisterPacket {
  type: typeof SnType.REGISTER;
  /** 0x0000 when sent by a client. */
  topicId: number;
  msgId: number;
  topicName: string;
}
export interface RegackPacket {
  type: typeof SnType.REGACK;
  topicId: number;
  msgId: number;
  returnCode: number;
}
export interface PublishPacket {
  type: typeof SnType.PUBLISH;
  dup: boolean;
  qos: SnQoS;
  retain: boolean;
  topicIdType: TopicIdTypeCode;
  topicId: number;
  msgId: number;
  data: Buffer;
}
export interface PubackPacket {
  type: typeof SnType.PUBACK;
  topicId: number;
  msgId: number;
  returnCode: number;
}
export interface MsgIdPacket<T extends number> {
  type: T;
  msgId: number;
}
export type PubcompPacket = MsgIdPacket<typeof SnType.PUBCOMP>;
export type PubrecPacket = MsgIdPacket<typeof SnType.PUBREC>;
export type PubrelPacket = MsgIdPacket<typeof SnType.PUBREL>;
export type UnsubackPacket = MsgIdPacket<typeof SnType.UNSUBACK>;

/** The topic of a SUBSCRIBE/UNSUBSCRIBE: a name (normal or 2-character short) or a predefined id. */
export type SnTopicRef =
  | { topicIdType: typeof TopicIdType.NORMAL; topicName: string }
  | { topicIdType: typeof TopicIdType.SHORT; topicName: string }
  | { topicIdType: typeof TopicIdType.PREDEFINED; topicId: number };

export type SubscribePacket = {
  type: typeof SnType.SUBSCRIBE;
  dup: boolean;
  qos: 0 | 1 | 2;
  msgId: number;
} & SnTopicRef;
export interface SubackPacket {
  type: typeof SnType.SUBACK;
  qos: 0 | 1 | 2;
  topicId: number;
  msgId: number;
  returnCode: number;
}
export type UnsubscribePacket = {
  type: typeof SnType.UNSUBSCRIBE;
  msgId: number;
} & SnTopicRef;
export interface PingReqPacket {
  type: typeof SnType.PINGREQ;
  /** Present when a sleeping client wakes up (6.14). */
  clientId?: string;
}
export interface DisconnectPacket {
  type: typeof SnType.DISCONNECT;
  /** Sleep duration in seconds; absent for a plain disconnect. */
  duration?: number;
}
export interface EncapsulatedPacket {
  type: typeof SnType.ENCAPSULATED;
  /** Broadcast radius (Ctrl bits 0-1). */
  radius: number;
  wirelessNodeId: Buffer;
  /** The encapsulated MQTT-SN message, undecoded. */
  message: Buffer;
}

export type SnPacket =
  | AdvertisePacket
  | SearchGwPacket
  | GwInfoPacket
  | ConnectPacket
  | ConnackPacket
  | WillTopicReqPacket
  | WillTopicPacket
  | WillMsgReqPacket
  | WillMsgPacket
  | RegisterPacket
  | RegackPacket
  | PublishPacket
  | PubackPacket
  | PubcompPacket
  | PubrecPacket
  | PubrelPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingReqPacket
  | PingRespPacket
  | DisconnectPacket
  | WillTopicUpdPacket
  | WillTopicRespPacket
  | WillMsgUpdPacket
  | WillMsgRespPacket
  | EncapsulatedPacket;

/** The two bytes of a short topic name as the uint16 a PUBLISH carries in its TopicId field. */
export function shortTopicId(name: string): number {
  const bytes = Buffer.from(name, 'latin1');
  return (bytes[0]! << 8) | bytes[1]!;
}

export function shortTopicName(topicId: number): string {
  return String.fromCharCode(topicId >> 8, topicId & 0xff);
}
