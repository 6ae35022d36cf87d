/**
 * Fixed-header rules (checked from the first byte alone, before a body is buffered) and the
 * dispatch from packet type to body decoder.
 *
 * `firstByteOk[level]` caches, for each of the 256 possible first bytes, whether
 * `checkFirstByte` accepts it at that level (index 0: level not yet known), so the hot path
 * is one typed-array read; `checkFirstByte` runs again only to build the error.
 */
import { decodeConnack, decodeConnect, type VersionSink } from './decode-connect.js';
import { decodeAck, decodePublish } from './decode-publish.js';
import { decodeSuback, decodeSubscribe, decodeUnsuback, decodeUnsubscribe } from './decode-subscribe.js';
import { malformed, protocolError } from './errors.js';
import type { AuthPacket, DisconnectPacket, Packet, ProtocolVersion } from './packets.js';
import { readProperties } from './properties-decode.js';
import type { Reader } from './reader.js';
import { authReasonCodes, disconnectReasonCodes } from './reason-code-sets.js';

/** Throws the error for an unacceptable first byte; `version` undefined before CONNECT. */
export function checkFirstByte(first: number, version: ProtocolVersion | undefined): void {
  const type = first >> 4;
  const flags = first & 0x0f;
  // [MQTT-3.1.0-1] the first packet is a CONNECT
  if (version === undefined && type !== 1) throw protocolError('first packet is not CONNECT', 'MQTT-3.1.0-1');
  // type 0 is reserved; AUTH (15) exists only in 5.0 (reserved in 3.1.1 2.2.1)
  if (type === 0 || (type === 15 && version !== 5)) throw malformed(`reserved packet type ${type}`);
  if (type === 3) {
    const qos = (flags >> 1) & 3;
    // [MQTT-3.3.1-4] QoS 3 is malformed
    if (qos === 3) throw malformed('PUBLISH QoS 3', 'MQTT-3.3.1-4');
    // [MQTT-3.3.1-2] DUP must be 0 for QoS 0
    if (qos === 0 && flags & 8) throw malformed('DUP set on QoS 0 PUBLISH', 'MQTT-3.3.1-2');
    return;
  }
  if (type === 6 || type === 8 || type === 10) {
    // [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1] flags 0b0010. MQTT 3.1 (level 3) sent these
    // as QoS 1 packets that may carry DUP on a retry, so level 3 accepts 0b1010 too.
    if (flags === 2 || (version === 3 && flags === 10)) return;
    throw malformed(`invalid fixed header flags 0x${flags.toString(16)} for packet type ${type}`, 'MQTT-2.1.3-1');
  }
  // [MQTT-2.1.3-1] (5.0) / [MQTT-2.2.2-1] (3.1.1): other reserved flags are 0
  if (flags !== 0) throw malformed(`invalid fixed header flags 0x${flags.toString(16)} for packet type ${type}`, 'MQTT-2.1.3-1');
}

function acceptTable(version: ProtocolVersion | undefined): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    try {
      checkFirstByte(b, version);
      t[b] = 1;
    } catch {
      t[b] = 0;
    }
  }
  return t;
}

export const firstByteOk: readonly Uint8Array[] = [
  acceptTable(undefined),
  new Uint8Array(256),
  new Uint8Array(256),
  acceptTable(3),
  acceptTable(4),
  acceptTable(5),
];

/** Decodes one packet body; `r` spans exactly the body. */
export function decodeBody(r: Reader, first: number, sink: VersionSink): Packet {
  const type = first >> 4;
  if (type === 3) return decodePublish(r, first & 0x0f, sink.protocolVersion!);
  if (type === 1) return decodeConnect(r, sink);
  const version = sink.protocolVersion!;
  switch (type) {
    case 2:
      return decodeConnack(r, version);
    case 4:
    case 5:
    case 6:
    case 7:
      return decodeAck(r, type, version);
    case 8:
      return decodeSubscribe(r, version);
    case 9:
      return decodeSuback(r, version);
    case 10:
      return decodeUnsubscribe(r, version);
    case 11:
      return decodeUnsuback(r, version);
    case 12:
      return { type: 12 };
    case 13:
      return { type: 13 };
    case 14:
      return decodeDisconnect(r, version);
    default:
      return decodeAuth(r);
  }
}

function decodeDisconnect(r: Reader, version: ProtocolVersion): DisconnectPacket {
  // spec 3.14.2.1: Remaining Length 0 means Normal disconnection
  if (version !== 5 || r.left === 0) return { type: 14, reasonCode: 0 };
  const reasonCode = r.u8();
  // [MQTT-3.14.2-1] one of the DISCONNECT reason codes
  if (disconnectReasonCodes[reasonCode] === 0) throw protocolError(`invalid DISCONNECT reason code ${reasonCode}`, 'MQTT-3.14.2-1');
  const packet: DisconnectPacket = { type: 14, reasonCode };
  if (r.left > 0) {
    const properties = readProperties(r, 14);
    if (properties !== undefined) packet.properties = properties;
  }
  return packet;
}

function decodeAuth(r: Reader): AuthPacket {
  // spec 3.15.2.1: Remaining Length 0 means Success and no properties
  if (r.left === 0) return { type: 15, reasonCode: 0 };
  const reasonCode = r.u8();
  // [MQTT-3.15.2-1] one of the AUTH reason codes
  if (authReasonCodes[reasonCode] === 0) throw protocolError(`invalid AUTH reason code ${reasonCode}`, 'MQTT-3.15.2-1');
  const packet: AuthPacket = { type: 15, reasonCode };
  if (r.left > 0) {
    const properties = readProperties(r, 15);
    if (properties !== undefined) packet.properties = properties;
  }
  return packet;
}
