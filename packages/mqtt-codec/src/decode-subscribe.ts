/**
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK bodies.
 *
 * Topic filter syntax is NOT checked here: in 5.0 a bad filter is answered per subscription
 * with SUBACK 0x8F, not by closing the connection, so that decision belongs to the broker
 * (packages/topics). Everything that makes the packet itself invalid is checked here.
 */
import { malformed, protocolError } from './errors.js';
import type {
  ProtocolVersion,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { readProperties } from './properties-decode.js';
import type { Reader } from './reader.js';
import { subackReasonCodes, subackReturnCodesV4, unsubackReasonCodes } from './reason-code-sets.js';

function packetId(r: Reader): number {
  const id = r.u16();
  // [MQTT-2.2.1-3] (5.0) / [MQTT-2.3.1-1] (3.1.1)
  if (id === 0) throw protocolError('packet identifier 0', 'MQTT-2.2.1-3');
  return id;
}

export function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packet: SubscribePacket = { type: 8, packetId: packetId(r), subscriptions: [] };
  if (version === 5) {
    const properties = readProperties(r, 8);
    if (properties !== undefined) packet.properties = properties;
  }
  while (r.left > 0) {
    const topicFilter = r.utf8(); // [MQTT-3.8.3-1]
    const options = r.u8();
    const qos = options & 3;
    // [MQTT-3.8.3-5] (5.0) / [MQTT-3-8.3-4] (3.1.1): reserved bits 0 and QoS 0..2
    if (qos === 3) throw malformed('subscription QoS 3', 'MQTT-3.8.3-5');
    let sub: Subscription;
    if (version === 5) {
      if (options & 0xc0) throw malformed('subscription options reserved bits set', 'MQTT-3.8.3-5');
      const retainHandling = (options >> 4) & 3;
      // spec 3.8.3.1: Retain Handling 3 is a Protocol Error
      if (retainHandling === 3) throw protocolError('Retain Handling 3');
      const noLocal = (options & 4) !== 0;
      // [MQTT-3.8.3-4] No Local on a Shared Subscription is a Protocol Error
      if (noLocal && topicFilter.startsWith('$share/')) throw protocolError('No Local on a shared subscription', 'MQTT-3.8.3-4');
      sub = {
        topicFilter,
        qos: qos as QoS,
        noLocal,
        retainAsPublished: (options & 8) !== 0,
        retainHandling: retainHandling as 0 | 1 | 2,
      };
    } else {
      if (options & 0xfc) throw malformed('subscription reserved bits set', 'MQTT-3-8.3-4');
      sub = { topicFilter, qos: qos as QoS, noLocal: false, retainAsPublished: false, retainHandling: 0 };
    }
    packet.subscriptions.push(sub);
  }
  // [MQTT-3.8.3-2] (5.0) / [MQTT-3.8.3-3] (3.1.1): at least one subscription
  if (packet.subscriptions.length === 0) throw protocolError('SUBSCRIBE without subscriptions', 'MQTT-3.8.3-2');
  return packet;
}

export function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packet: SubackPacket = { type: 9, packetId: packetId(r), reasonCodes: [] };
  if (version === 5) {
    const properties = readProperties(r, 9);
    if (properties !== undefined) packet.properties = properties;
  }
  const valid = version === 5 ? subackReasonCodes : subackReturnCodesV4;
  while (r.left > 0) {
    const code = r.u8();
    // [MQTT-3.9.3-1] (5.0) / [MQTT-3.9.3-2] (3.1.1)
    if (valid[code] === 0) throw protocolError(`invalid SUBACK code ${code}`, 'MQTT-3.9.3-1');
    packet.reasonCodes.push(code);
  }
  if (packet.reasonCodes.length === 0) throw protocolError('SUBACK without reason codes');
  return packet;
}

export function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packet: UnsubscribePacket = { type: 10, packetId: packetId(r), topicFilters: [] };
  if (version === 5) {
    const properties = readProperties(r, 10);
    if (properties !== undefined) packet.properties = properties;
  }
  while (r.left > 0) packet.topicFilters.push(r.utf8()); // [MQTT-3.10.3-1]
  // [MQTT-3.10.3-2] at least one topic filter
  if (packet.topicFilters.length === 0) throw protocolError('UNSUBSCRIBE without topic filters', 'MQTT-3.10.3-2');
  return packet;
}

export function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packet: UnsubackPacket = { type: 11, packetId: packetId(r), reasonCodes: [] };
  if (version !== 5) return packet;
  const properties = readProperties(r, 11);
  if (properties !== undefined) packet.properties = properties;
  while (r.left > 0) {
    const code = r.u8();
    // [MQTT-3.11.3-1] one of the UNSUBACK reason codes
    if (unsubackReasonCodes[code] === 0) throw protocolError(`invalid UNSUBACK code ${code}`, 'MQTT-3.11.3-1');
    packet.reasonCodes.push(code);
  }
  if (packet.reasonCodes.length === 0) throw protocolError('UNSUBACK without reason codes');
  return packet;
}
