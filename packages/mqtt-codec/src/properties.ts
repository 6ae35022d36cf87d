/**
 * MQTT 5.0 properties (spec 2.2.2.2): identifier, wire type and which packets may carry each.
 *
 * `allowedProperties` is the public, readable table (by property name). The parser and the
 * serializer use `propertyAllowedMask`, the same table flattened into one byte per
 * (packet type, property id) so that the check on the hot path is a single array read.
 * Index 0 of the packet-type dimension stands for the Will properties of a CONNECT.
 */
import type { PacketTypeCode, Properties } from './packets.js';

export type PropertyWireType = 'byte' | 'two-byte' | 'four-byte' | 'varint' | 'utf8' | 'binary' | 'utf8-pair';
export type PropertyName = keyof Properties;

export interface PropertyDefinition {
  readonly id: number;
  readonly name: PropertyName;
  readonly type: PropertyWireType;
}

export const PropertyId = {
  PayloadFormatIndicator: 0x01,
  MessageExpiryInterval: 0x02,
  ContentType: 0x03,
  ResponseTopic: 0x08,
  CorrelationData: 0x09,
  SubscriptionIdentifier: 0x0b,
  SessionExpiryInterval: 0x11,
  AssignedClientIdentifier: 0x12,
  ServerKeepAlive: 0x13,
  AuthenticationMethod: 0x15,
  AuthenticationData: 0x16,
  RequestProblemInformation: 0x17,
  WillDelayInterval: 0x18,
  RequestResponseInformation: 0x19,
  ResponseInformation: 0x1a,
  ServerReference: 0x1c,
  ReasonString: 0x1f,
  ReceiveMaximum: 0x21,
  TopicAliasMaximum: 0x22,
  TopicAlias: 0x23,
  MaximumQoS: 0x24,
  RetainAvailable: 0x25,
  UserProperty: 0x26,
  MaximumPacketSize: 0x27,
  WildcardSubscriptionAvailable: 0x28,
  SubscriptionIdentifiersAvailable: 0x29,
  SharedSubscriptionAvailable: 0x2a,
} as const;

/** Key of the Will properties in `allowedProperties` (a CONNECT's will is not a packet type). */
export const WILL = 'will';
export type PropertyScope = PacketTypeCode | typeof WILL;

const C = 1;
const CA = 2;
const P = 3;
const PA = 4;
const PREC = 5;
const PREL = 6;
const PC = 7;
const S = 8;
const SA = 9;
const U = 10;
const UA = 11;
const D = 14;
const A = 15;
const W = 0;

type Def = readonly [id: number, name: PropertyName, type: PropertyWireType, scopes: readonly number[]];
const defs: readonly Def[] = [
  [0x01, 'payloadFormatIndicator', 'byte', [P, W]],
  [0x02, 'messageExpiryInterval', 'four-byte', [P, W]],
  [0x03, 'contentType', 'utf8', [P, W]],
  [0x08, 'responseTopic', 'utf8', [P, W]],
  [0x09, 'correlationData', 'binary', [P, W]],
  [0x0b, 'subscriptionIdentifiers', 'varint', [P, S]],
  [0x11, 'sessionExpiryInterval', 'four-byte', [C, CA, D]],
  [0x12, 'assignedClientIdentifier', 'utf8', [CA]],
  [0x13, 'serverKeepAlive', 'two-byte', [CA]],
  [0x15, 'authenticationMethod', 'utf8', [C, CA, A]],
  [0x16, 'authenticationData', 'binary', [C, CA, A]],
  [0x17, 'requestProblemInformation', 'byte', [C]],
  [0x18, 'willDelayInterval', 'four-byte', [W]],
  [0x19, 'requestResponseInformation', 'byte', [C]],
  [0x1a, 'responseInformation', 'utf8', [CA]],
  [0x1c, 'serverReference', 'utf8', [CA, D]],
  [0x1f, 'reasonString', 'utf8', [CA, PA, PREC, PREL, PC, SA, UA, D, A]],
  [0x21, 'receiveMaximum', 'two-byte', [C, CA]],
  [0x22, 'topicAliasMaximum', 'two-byte', [C, CA]],
  [0x23, 'topicAlias', 'two-byte', [P]],
  [0x24, 'maximumQoS', 'byte', [CA]],
  [0x25, 'retainAvailable', 'byte', [CA]],
  [0x26, 'userProperties', 'utf8-pair', [C, CA, P, W, PA, PREC, PREL, PC, S, SA, U, UA, D, A]],
  [0x27, 'maximumPacketSize', 'four-byte', [C, CA]],
  [0x28, 'wildcardSubscriptionAvailable', 'byte', [CA]],
  [0x29, 'subscriptionIdentifiersAvailable', 'byte', [CA]],
  [0x2a, 'sharedSubscriptionAvailable', 'byte', [CA]],
];

export const propertyDefinitions: readonly PropertyDefinition[] = defs.map(([id, name, type]) => ({ id, name, type }));

/** Definition by property id (sparse, undefined for unknown ids). */
export const propertyById: readonly (PropertyDefinition | undefined)[] = (() => {
  const table: (PropertyDefinition | undefined)[] = new Array(0x80).fill(undefined);
  for (const d of propertyDefinitions) table[d.id] = d;
  return table;
})();

/** Property id by name. */
export const propertyIdByName: Readonly<Record<PropertyName, number>> = Object.fromEntries(
  defs.map(([id, name]) => [name, id]),
) as Record<PropertyName, number>;

/** 1 when property `id` may appear in packet `type` (0 = will): `propertyAllowedMask[type * 64 + id]`. */
export const propertyAllowedMask: Uint8Array = (() => {
  const mask = new Uint8Array(16 * 64);
  for (const [id, , , scopes] of defs) for (const s of scopes) mask[s * 64 + id] = 1;
  return mask;
})();

/** Which properties each packet type may carry, and (under 'will') the Will properties [spec 2.2.2.2]. */
export const allowedProperties: Readonly<Record<PropertyScope, ReadonlySet<PropertyName>>> = (() => {
  const out = {} as Record<PropertyScope, Set<PropertyName>>;
  out[WILL] = new Set();
  for (let t = 1; t <= 15; t++) out[t as PacketTypeCode] = new Set();
  for (const [, name, , scopes] of defs) {
    for (const s of scopes) out[s === W ? WILL : (s as PacketTypeCode)].add(name);
  }
  return out;
})();
