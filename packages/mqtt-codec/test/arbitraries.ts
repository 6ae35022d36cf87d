/**
 * fast-check generators of valid packets for every type and protocol level, used by the
 * differential and fuzz tests. Strings cover the whole Unicode range (minus U+0000).
 */
import fc from 'fast-check';
import {
  allowedProperties,
  type Packet,
  type PropertyName,
  type PropertyScope,
  type Properties,
  type ProtocolVersion,
  type QoS,
} from '../src/index.js';

const text = (max = 12) => fc.string({ unit: 'binary', maxLength: max }).map((s) => s.replaceAll('\u0000', '_'));
const nonEmpty = (max = 12) => text(max).filter((s) => s.length > 0);
const topic = nonEmpty().map((s) => s.replaceAll('+', 'p').replaceAll('#', 'h'));
const bytes = (max = 24) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 65_535 });
const u16 = fc.integer({ min: 0, max: 65_535 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const flag = fc.constantFrom(0, 1);

function valueArb(name: PropertyName, scope: PropertyScope): fc.Arbitrary<unknown> {
  switch (name) {
    case 'payloadFormatIndicator':
    case 'requestProblemInformation':
    case 'requestResponseInformation':
    case 'maximumQoS':
    case 'retainAvailable':
    case 'wildcardSubscriptionAvailable':
    case 'subscriptionIdentifiersAvailable':
    case 'sharedSubscriptionAvailable':
      return flag;
    case 'serverKeepAlive':
    case 'topicAliasMaximum':
      return u16;
    case 'receiveMaximum':
    case 'topicAlias':
      return fc.integer({ min: 1, max: 65_535 });
    case 'maximumPacketSize':
      return fc.integer({ min: 1, max: 0xffff_ffff });
    case 'messageExpiryInterval':
    case 'sessionExpiryInterval':
    case 'willDelayInterval':
      return u32;
    case 'subscriptionIdentifiers':
      return fc.array(fc.integer({ min: 1, max: 268_435_455 }), { minLength: 1, maxLength: scope === 3 ? 3 : 1 });
    case 'correlationData':
    case 'authenticationData':
      return bytes();
    case 'responseTopic':
      return topic;
    case 'userProperties':
      // non-empty values: mqtt-packet's parser drops a repeated name whose first value is ''
      return fc.array(fc.tuple(text(6), nonEmpty(6)), { minLength: 1, maxLength: 3 });
    default:
      return text();
  }
}

export function propertiesArb(scope: PropertyScope): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of allowedProperties[scope]) model[name] = valueArb(name, scope);
  return fc.option(
    fc.record(model, { requiredKeys: [] }).map((p) => {
      const props = p as Properties;
      if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
        delete props.authenticationData;
      }
      return props;
    }),
    { nil: undefined },
  );
}

function withProps<T extends Packet>(v: ProtocolVersion, scope: PropertyScope, base: fc.Arbitrary<T>): fc.Arbitrary<T> {
  if (v !== 5) return base;
  return fc.tuple(base, propertiesArb(scope)).map(([p, props]) => (props === undefined ? p : { ...p, properties: props }));
}

const reasons = {
  connack: [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f],
  puback: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrel: [0x00, 0x92],
  suback: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99],
  auth: [0x00, 0x18, 0x19],
};

export function packetArb(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const connect = withProps(
    v,
    1,
    fc
      .record({
        clean: fc.boolean(),
        keepAlive: u16,
        clientId: text(23),
        will: fc.option(
          fc.record({ topic, payload: bytes(), qos, retain: fc.boolean(), properties: v === 5 ? propertiesArb('will') : fc.constant(undefined) }),
          { nil: undefined },
        ),
        username: fc.option(text(), { nil: undefined }),
        password: fc.option(bytes(), { nil: undefined }),
      })
      .map((r) => {
        // an empty client id needs clean session before 5.0 (mqtt-packet refuses to write it otherwise)
        const clientId = r.clientId === '' && (v === 3 || !r.clean) ? 'c' : r.clientId;
        const p: Packet = { type: 1, protocolName: v === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: v, clean: r.clean, keepAlive: r.keepAlive, clientId };
        if (r.will) {
          p.will = { topic: r.will.topic, payload: r.will.payload, qos: r.will.qos, retain: r.will.retain };
          if (r.will.properties) p.will.properties = r.will.properties;
        }
        if (r.username !== undefined) p.username = r.username;
        if (r.password !== undefined && (r.username !== undefined || v === 5)) p.password = r.password;
        return p;
      }),
  );
  const connack = withProps(
    v,
    2,
    fc
      .record({ sessionPresent: fc.boolean(), reasonCode: v === 5 ? fc.constantFrom(...reasons.connack) : fc.integer({ min: 0, max: 5 }) })
      .map((r): Packet => ({ type: 2, sessionPresent: r.sessionPresent && r.reasonCode === 0, reasonCode: r.reasonCode })),
  );
  const publish = withProps(
    v,
    3,
    fc.record({ dup: fc.boolean(), qos, retain: fc.boolean(), topic, packetId, payload: bytes(64) }).map(
      (r): Packet =>
        r.qos === 0
          ? { type: 3, dup: false, qos: 0, retain: r.retain, topic: r.topic, payload: r.payload }
          : { type: 3, dup: r.dup, qos: r.qos, retain: r.retain, topic: r.topic, packetId: r.packetId, payload: r.payload },
    ),
  );
  const ack = fc.constantFrom(4, 5, 6, 7).chain((type) =>
    withProps(
      v,
      type as PropertyScope,
      fc.record({ packetId, reasonCode: fc.constantFrom(...(type <= 5 ? reasons.puback : reasons.pubrel)) }).map(
        (r): Packet => (v === 5 ? { type: type as 4, packetId: r.packetId, reasonCode: r.reasonCode } : { type: type as 4, packetId: r.packetId }),
      ),
    ),
  );
  const subscription = fc.record({
    topicFilter: nonEmpty().filter((s) => !s.startsWith('$share/')),
    qos,
    noLocal: v === 5 ? fc.boolean() : fc.constant(false),
    retainAsPublished: v === 5 ? fc.boolean() : fc.constant(false),
    retainHandling: v === 5 ? fc.constantFrom<0 | 1 | 2>(0, 1, 2) : fc.constant<0>(0),
  });
  const subscribe = withProps(
    v,
    8,
    fc.record({ packetId, subscriptions: fc.array(subscription, { minLength: 1, maxLength: 4 }) }).map((r): Packet => ({ type: 8, ...r })),
  );
  const suback = withProps(
    v,
    9,
    fc
      .record({ packetId, reasonCodes: fc.array(fc.constantFrom(...(v === 5 ? reasons.suback : [0, 1, 2, 0x80])), { minLength: 1, maxLength: 5 }) })
      .map((r): Packet => ({ type: 9, ...r })),
  );
  const unsubscribe = withProps(
    v,
    10,
    fc.record({ packetId, topicFilters: fc.array(nonEmpty(), { minLength: 1, maxLength: 4 }) }).map((r): Packet => ({ type: 10, ...r })),
  );
  const unsuback = withProps(
    v,
    11,
    fc
      .record({ packetId, reasonCodes: v === 5 ? fc.array(fc.constantFrom(...reasons.unsuback), { minLength: 1, maxLength: 5 }) : fc.constant([]) })
      .map((r): Packet => ({ type: 11, ...r })),
  );
  const simple = fc.constantFrom<Packet>({ type: 12 }, { type: 13 });
  const disconnect = withProps(
    v,
    14,
    (v === 5 ? fc.constantFrom(...reasons.disconnect) : fc.constant(0)).map((reasonCode): Packet => ({ type: 14, reasonCode })),
  );
  const all: fc.Arbitrary<Packet>[] = [connect, connack, publish, publish, ack, subscribe, suback, unsubscribe, unsuback, simple, disconnect];
  if (v === 5) all.push(withProps(v, 15, fc.constantFrom(...reasons.auth).map((reasonCode): Packet => ({ type: 15, reasonCode }))));
  return fc.oneof(...all);
}
