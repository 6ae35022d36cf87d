/**
 * CONNECT and CONNACK bodies.
 *
 * Protocol name and level (spec 3.1.2.1-2): MQIsdp/3, MQTT/4 and MQTT/5 are accepted. A known
 * name with a level it does not go with, or an unknown level, throws 0x84 Unsupported Protocol
 * Version so the broker can answer CONNACK return code 1 / 0x84 [MQTT-3.1.2-2]; an unknown
 * protocol NAME throws 0x82 Protocol Error and the broker closes without a CONNACK
 * [MQTT-3.1.2-1] (the same split Mosquitto makes). As soon as the level is known it is stored
 * on `sink` (the parser), so that an error later in the CONNECT is answered in that level's
 * CONNACK format.
 */
import { MqttProtocolError, malformed, protocolError } from './errors.js';
import type { ConnackPacket, ConnectPacket, ProtocolVersion, QoS, Will } from './packets.js';
import { readProperties } from './properties-decode.js';
import type { Reader } from './reader.js';
import { connackReasonCodes } from './reason-code-sets.js';
import { ReasonCode } from './reason-codes.js';
import { hasWildcard } from './utf8.js';

export interface VersionSink {
  protocolVersion: ProtocolVersion | undefined;
}

export function decodeConnect(r: Reader, sink: VersionSink): ConnectPacket {
  const protocolName = r.utf8();
  const level = r.u8();
  if (protocolName === 'MQTT') {
    if (level !== 4 && level !== 5) throw unsupported(protocolName, level);
  } else if (protocolName === 'MQIsdp') {
    if (level !== 3) throw unsupported(protocolName, level);
  } else {
    // [MQTT-3.1.2-1] unknown protocol name: not this protocol, close without CONNACK
    throw protocolError(`unknown protocol name '${protocolName}'`, 'MQTT-3.1.2-1');
  }
  const protocolVersion = level as ProtocolVersion;
  sink.protocolVersion = protocolVersion;

  const flags = r.u8();
  // [MQTT-3.1.2-3] reserved flag bit must be 0
  if (flags & 0x01) throw malformed('CONNECT reserved flag set', 'MQTT-3.1.2-3');
  const clean = (flags & 0x02) !== 0;
  const willFlag = (flags & 0x04) !== 0;
  const willQoS = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  // [MQTT-3.1.2-12] (5.0) / [MQTT-3.1.2-14] (3.1.1): Will QoS 3 is malformed
  if (willQoS === 3) throw malformed('Will QoS 3', 'MQTT-3.1.2-12');
  if (!willFlag) {
    // [MQTT-3.1.2-11] (5.0) / [MQTT-3.1.2-13] (3.1.1): no will -> Will QoS 0
    if (willQoS !== 0) throw malformed('Will QoS without Will Flag', 'MQTT-3.1.2-11');
    // [MQTT-3.1.2-13] (5.0) / [MQTT-3.1.2-15] (3.1.1): no will -> Will Retain 0
    if (willRetain) throw malformed('Will Retain without Will Flag', 'MQTT-3.1.2-13');
  }
  // [MQTT-3.1.2-22] (3.1.1; 3.1 alike): a password needs a user name. 5.0 allows it.
  if (hasPassword && !hasUsername && protocolVersion !== 5) {
    throw malformed('Password Flag without User Name Flag', 'MQTT-3.1.2-22');
  }
  const keepAlive = r.u16();
  const packet: ConnectPacket = {
    type: 1,
    protocolName,
    protocolVersion,
    clean,
    keepAlive,
    clientId: '',
  };
  if (protocolVersion === 5) {
    const properties = readProperties(r, 1);
    if (properties !== undefined) packet.properties = properties;
  }
  // [MQTT-3.1.3-3] (5.0) / [MQTT-3.1.3-3] (3.1.1): the Client Identifier is always present
  packet.clientId = r.utf8();
  if (willFlag) {
    const willProperties = protocolVersion === 5 ? readProperties(r, 0) : undefined;
    const topic = r.utf8();
    // [MQTT-3.1.3-11] the Will Topic is a Topic Name: no wildcards [MQTT-4.7.1-1], not empty [MQTT-4.7.3-1]
    if (topic.length === 0 || hasWildcard(topic)) {
      throw new MqttProtocolError(ReasonCode.TopicNameInvalid, 'invalid Will Topic', 'MQTT-4.7.1-1');
    }
    const will: Will = { topic, payload: r.binary(), qos: willQoS as QoS, retain: willRetain };
    if (willProperties !== undefined) will.properties = willProperties;
    packet.will = will;
  }
  // [MQTT-3.1.2-19] / [MQTT-3.1.2-21]: fields present exactly when their flags say so
  if (hasUsername) packet.username = r.utf8();
  if (hasPassword) packet.password = r.binary();
  return packet;
}

function unsupported(name: string, level: number): MqttProtocolError {
  return new MqttProtocolError(
    ReasonCode.UnsupportedProtocolVersion,
    `unsupported protocol level ${level} for '${name}'`,
    'MQTT-3.1.2-2',
  );
}

export function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const flags = r.u8();
  // [MQTT-3.2.2-1] reserved acknowledge flags must be 0
  if (flags & 0xfe) throw malformed('CONNACK reserved flags set', 'MQTT-3.2.2-1');
  const sessionPresent = flags === 1;
  const reasonCode = r.u8();
  if (version === 5) {
    // [MQTT-3.2.2-8] one of the CONNACK reason codes
    if (connackReasonCodes[reasonCode] === 0) throw protocolError(`invalid CONNACK reason code ${reasonCode}`, 'MQTT-3.2.2-8');
  } else if (reasonCode > 5) {
    throw protocolError(`invalid CONNACK return code ${reasonCode}`);
  }
  // [MQTT-3.2.2-6] (5.0) / [MQTT-3.2.2-4] (3.1.1): Session Present is 0 on a refusal
  if (sessionPresent && reasonCode !== 0) throw protocolError('Session Present on a refused CONNACK', 'MQTT-3.2.2-6');
  const packet: ConnackPacket = { type: 2, sessionPresent, reasonCode };
  if (version === 5) {
    const properties = readProperties(r, 2);
    if (properties !== undefined) packet.properties = properties;
  }
  return packet;
}
