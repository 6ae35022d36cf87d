// Hand-encoded MQTT-SN 1.2 datagrams: the few the load generator sends, written from the
// specification's layouts (section 5) and sharing no code with the gateway's codec, so the bench
// also checks the gateway against an independent encoder. A PUBLISH is built once per client and
// sent many times.

export const SnMsgType = {
  Connect: 0x04,
  Connack: 0x05,
  Register: 0x0a,
  Regack: 0x0b,
  Publish: 0x0c,
  Puback: 0x0d,
  Disconnect: 0x18,
} as const;

const CLEAN_SESSION = 0x04;
const PROTOCOL_ID = 0x01;

/** Length (one octet up to 255, else 0x01 + uint16), MsgType, then `body`. */
function datagram(type: number, body: Buffer): Buffer {
  const short = body.length + 2 <= 255;
  const length = body.length + (short ? 2 : 4);
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  if (short) out[at++] = length;
  else {
    out[at++] = 0x01;
    at = out.writeUInt16BE(length, at);
  }
  out[at++] = type;
  body.copy(out, at);
  return out;
}

/** CONNECT, clean session; `durationS` 0: no keep-alive supervision. */
export function snConnect(clientId: string, durationS = 0): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.allocUnsafe(4 + id.length);
  body[0] = CLEAN_SESSION;
  body[1] = PROTOCOL_ID;
  body.writeUInt16BE(durationS, 2);
  id.copy(body, 4);
  return datagram(SnMsgType.Connect, body);
}

/** REGISTER of a topic name (TopicId 0: the client asks the gateway for one). */
export function snRegister(msgId: number, topicName: string): Buffer {
  const name = Buffer.from(topicName, 'utf8');
  const body = Buffer.alloc(4 + name.length);
  body.writeUInt16BE(msgId, 2);
  name.copy(body, 4);
  return datagram(SnMsgType.Register, body);
}

/** PUBLISH to a normal (registered) TopicId at QoS 0 or 1. */
export function snPublish(topicId: number, msgId: number, qos: 0 | 1, payload: Buffer): Buffer {
  const body = Buffer.allocUnsafe(5 + payload.length);
  body[0] = qos << 5; // DUP 0, RETAIN 0, TopicIdType 0b00 (normal)
  body.writeUInt16BE(topicId, 1);
  body.writeUInt16BE(msgId, 3);
  payload.copy(body, 5);
  return datagram(SnMsgType.Publish, body);
}

export const SN_DISCONNECT = datagram(SnMsgType.Disconnect, Buffer.alloc(0));

/** A received datagram's MsgType and where its body starts; undefined when too short. */
export function snHeader(d: Buffer): { type: number; body: number } | undefined {
  if (d.length < 2) return undefined;
  if (d[0] !== 0x01) return { type: d[1], body: 2 };
  return d.length < 4 ? undefined : { type: d[3], body: 4 };
}
