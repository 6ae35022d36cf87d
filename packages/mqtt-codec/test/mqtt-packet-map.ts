/**
 * Translation between our packet objects and mqtt-packet's, for the differential tests, and a
 * normal form for comparing them: mqtt-packet keeps User Properties as an object (values of a
 * repeated name grouped into an array, order across names lost) and byte flags as booleans, so
 * both sides are compared after `normalize`.
 */
import type { Packet, Properties, ProtocolVersion, UserProperty } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: mqtt-packet's packets are loosely typed
type Loose = Record<string, any>;

const names = [
  '',
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
];
const boolProps = new Set([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
]);

function propsToMqtt(p: Properties | undefined): Loose | undefined {
  if (p === undefined) return undefined;
  const out: Loose = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    if (boolProps.has(k)) out[k] = v === 1;
    else if (k === 'subscriptionIdentifiers') {
      if ((v as number[]).length > 0) out.subscriptionIdentifier = (v as number[]).length === 1 ? v[0] : v;
    } else if (k === 'userProperties') {
      const o: Loose = {};
      for (const [n, val] of v as UserProperty[]) {
        if (o[n] === undefined) o[n] = val;
        else if (Array.isArray(o[n])) o[n].push(val);
        else o[n] = [o[n], val];
      }
      if (Object.keys(o).length > 0) out.userProperties = o;
    } else out[k] = v;
  }
  return out;
}

function propsFromMqtt(m: Loose | undefined): Properties | undefined {
  if (m === undefined || m === null) return undefined;
  const out: Loose = {};
  for (const [k, v] of Object.entries(m)) {
    if (boolProps.has(k)) out[k] = v ? 1 : 0;
    else if (k === 'subscriptionIdentifier') out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    else if (k === 'userProperties') {
      const pairs: UserProperty[] = [];
      for (const [n, val] of Object.entries(v as Loose)) {
        for (const x of Array.isArray(val) ? val : [val]) pairs.push([n, String(x)]);
      }
      out.userProperties = pairs;
    } else out[k] = v;
  }
  return out as Properties;
}

export function toMqttPacket(p: Packet, v: ProtocolVersion): Loose {
  const m: Loose = { cmd: names[p.type] };
  switch (p.type) {
    case 1:
      Object.assign(m, {
        protocolId: p.protocolName,
        protocolVersion: v,
        clean: p.clean,
        keepalive: p.keepAlive,
        clientId: p.clientId,
      });
      if (p.will) {
        m.will = { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain };
        if (p.will.properties) m.will.properties = propsToMqtt(p.will.properties);
      }
      if (p.username !== undefined) m.username = p.username;
      if (p.password !== undefined) m.password = p.password;
      break;
    case 2:
      m.sessionPresent = p.sessionPresent;
      if (v === 5) m.reasonCode = p.reasonCode;
      else m.returnCode = p.reasonCode;
      break;
    case 3:
      Object.assign(m, { topic: p.topic, payload: p.payload, qos: p.qos, dup: p.dup, retain: p.retain });
      if (p.packetId !== undefined) m.messageId = p.packetId;
      break;
    case 4:
    case 5:
    case 6:
    case 7:
      m.messageId = p.packetId;
      if (v === 5) m.reasonCode = p.reasonCode ?? 0;
      break;
    case 8:
      m.messageId = p.packetId;
      m.subscriptions = p.subscriptions.map((s) =>
        v === 5
          ? { topic: s.topicFilter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling }
          : { topic: s.topicFilter, qos: s.qos },
      );
      break;
    case 9:
      m.messageId = p.packetId;
      m.granted = p.reasonCodes;
      break;
    case 10:
      m.messageId = p.packetId;
      m.unsubscriptions = p.topicFilters;
      break;
    case 11:
      m.messageId = p.packetId;
      if (v === 5) m.granted = p.reasonCodes;
      break;
    case 14:
    case 15:
      m.reasonCode = p.reasonCode;
      break;
  }
  if ('properties' in p && p.properties !== undefined && v === 5) m.properties = propsToMqtt(p.properties);
  return m;
}

export function fromMqttPacket(m: Loose, v: ProtocolVersion): Packet {
  const type = names.indexOf(m.cmd);
  let p: Loose;
  switch (type) {
    case 1:
      p = {
        type,
        protocolName: m.protocolId,
        protocolVersion: m.protocolVersion,
        clean: m.clean,
        keepAlive: m.keepalive,
        clientId: m.clientId,
      };
      if (m.will) {
        p.will = { topic: m.will.topic, payload: m.will.payload, qos: m.will.qos, retain: m.will.retain };
        if (m.will.properties) p.will.properties = propsFromMqtt(m.will.properties);
      }
      if (m.username !== undefined) p.username = m.username;
      if (m.password !== undefined) p.password = m.password;
      break;
    case 2:
      p = { type, sessionPresent: m.sessionPresent, reasonCode: v === 5 ? m.reasonCode : m.returnCode };
      break;
    case 3:
      p = { type, dup: m.dup, qos: m.qos, retain: m.retain, topic: m.topic, payload: m.payload };
      if (m.qos > 0) p.packetId = m.messageId;
      break;
    case 4:
    case 5:
    case 6:
    case 7:
      p = { type, packetId: m.messageId };
      if (v === 5) p.reasonCode = m.reasonCode ?? 0;
      break;
    case 8:
      p = {
        type,
        packetId: m.messageId,
        subscriptions: m.subscriptions.map((s: Loose) => ({
          topicFilter: s.topic,
          qos: s.qos,
          noLocal: !!s.nl,
          retainAsPublished: !!s.rap,
          retainHandling: s.rh ?? 0,
        })),
      };
      break;
    case 9:
      p = { type, packetId: m.messageId, reasonCodes: m.granted };
      break;
    case 10:
      p = { type, packetId: m.messageId, topicFilters: m.unsubscriptions };
      break;
    case 11:
      p = { type, packetId: m.messageId, reasonCodes: v === 5 ? m.granted : [] };
      break;
    case 14:
    case 15:
      p = { type, reasonCode: m.reasonCode ?? 0 };
      break;
    default:
      p = { type };
  }
  if (m.properties !== undefined && v === 5) p.properties = propsFromMqtt(m.properties);
  return p as Packet;
}

/** Comparable form: no undefined keys, empty property blocks dropped, user properties grouped by name. */
export function normalize(p: Packet): Loose {
  const out: Loose = { ...p };
  const norm = (props: Properties | undefined): Loose | undefined => {
    if (props === undefined) return undefined;
    const q = propsToMqtt(props)!;
    return Object.keys(q).length === 0 ? undefined : q;
  };
  if ('properties' in p) {
    const q = norm(p.properties);
    if (q === undefined) delete out.properties;
    else out.properties = q;
  }
  if (p.type === 1 && p.will) {
    out.will = { ...p.will };
    const q = norm(p.will.properties);
    if (q === undefined) delete out.will.properties;
    else out.will.properties = q;
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
