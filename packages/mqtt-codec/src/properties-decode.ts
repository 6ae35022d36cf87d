/**
 * Reads an MQTT 5.0 property block (spec 2.2.2) into a Properties object.
 *
 * Rules checked here, for every packet: the identifier is known and allowed on this packet
 * (else 0x81, spec 2.2.2.2), a property other than User Property (and Subscription Identifier
 * on PUBLISH) appears at most once (0x82), values are in range (byte flags 0/1, Receive
 * Maximum, Maximum Packet Size and Subscription Identifier non-zero, Topic Alias non-zero
 * (0x94)), strings are valid UTF-8, and Authentication Data needs an Authentication Method.
 * An empty block returns undefined so that the common PUBLISH allocates nothing.
 */
import { MqttProtocolError, malformed, protocolError } from './errors.js';
import type { Properties, UserProperty } from './packets.js';
import { PropertyId as Id, propertyAllowedMask } from './properties.js';
import type { Reader } from './reader.js';
import { ReasonCode } from './reason-codes.js';
import { hasWildcard } from './utf8.js';

/** `scope` is the packet type, or 0 for the Will properties. */
export function readProperties(r: Reader, scope: number): Properties | undefined {
  const len = r.varint();
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) throw malformed('property length exceeds the packet');
  const outerEnd = r.end;
  r.end = end;
  const props: Properties = {};
  let seenLo = 0; // ids 0..31
  let seenHi = 0; // ids 32..63
  while (r.pos < end) {
    const id = r.varint();
    if (id >= 64 || propertyAllowedMask[scope * 64 + id] === 0) {
      // spec 2.2.2.2: an identifier not valid for its packet type is a Malformed Packet
      throw malformed(`property 0x${id.toString(16)} not allowed on ${scope === 0 ? 'will' : `packet type ${scope}`}`);
    }
    if (id !== Id.UserProperty && !(id === Id.SubscriptionIdentifier && scope === 3)) {
      if (id < 32) {
        if (seenLo & (1 << id)) throw repeated(id);
        seenLo |= 1 << id;
      } else {
        if (seenHi & (1 << (id - 32))) throw repeated(id);
        seenHi |= 1 << (id - 32);
      }
    }
    switch (id) {
      case Id.PayloadFormatIndicator:
        props.payloadFormatIndicator = flag(r, id);
        break;
      case Id.MessageExpiryInterval:
        props.messageExpiryInterval = r.u32();
        break;
      case Id.ContentType:
        props.contentType = r.utf8();
        break;
      case Id.ResponseTopic: {
        const topic = r.utf8();
        // [MQTT-3.3.2-14] the Response Topic is a Topic Name: no wildcards
        if (hasWildcard(topic)) throw new MqttProtocolError(ReasonCode.TopicNameInvalid, 'wildcard in Response Topic', 'MQTT-3.3.2-14');
        props.responseTopic = topic;
        break;
      }
      case Id.CorrelationData:
        props.correlationData = r.binary();
        break;
      case Id.SubscriptionIdentifier: {
        const v = r.varint();
        // spec 3.8.2.1.2 / 3.3.2.3.8: a Subscription Identifier of 0 is a Protocol Error
        if (v === 0) throw protocolError('Subscription Identifier 0');
        if (props.subscriptionIdentifiers === undefined) props.subscriptionIdentifiers = [v];
        else props.subscriptionIdentifiers.push(v);
        break;
      }
      case Id.SessionExpiryInterval:
        props.sessionExpiryInterval = r.u32();
        break;
      case Id.AssignedClientIdentifier:
        props.assignedClientIdentifier = r.utf8();
        break;
      case Id.ServerKeepAlive:
        props.serverKeepAlive = r.u16();
        break;
      case Id.AuthenticationMethod:
        props.authenticationMethod = r.utf8();
        break;
      case Id.AuthenticationData:
        props.authenticationData = r.binary();
        break;
      case Id.RequestProblemInformation:
        props.requestProblemInformation = flag(r, id);
        break;
      case Id.WillDelayInterval:
        props.willDelayInterval = r.u32();
        break;
      case Id.RequestResponseInformation:
        props.requestResponseInformation = flag(r, id);
        break;
      case Id.ResponseInformation:
        props.responseInformation = r.utf8();
        break;
      case Id.ServerReference:
        props.serverReference = r.utf8();
        break;
      case Id.ReasonString:
        props.reasonString = r.utf8();
        break;
      case Id.ReceiveMaximum: {
        const v = r.u16();
        // spec 3.1.2.11.3 / 3.2.2.3.3: Receive Maximum 0 is a Protocol Error
        if (v === 0) throw protocolError('Receive Maximum 0');
        props.receiveMaximum = v;
        break;
      }
      case Id.TopicAliasMaximum:
        props.topicAliasMaximum = r.u16();
        break;
      case Id.TopicAlias: {
        const v = r.u16();
        // [MQTT-3.3.2-8] Topic Alias 0 is not permitted; the receiver answers 0x94
        if (v === 0) throw new MqttProtocolError(ReasonCode.TopicAliasInvalid, 'Topic Alias 0', 'MQTT-3.3.2-8');
        props.topicAlias = v;
        break;
      }
      case Id.MaximumQoS:
        props.maximumQoS = flag(r, id);
        break;
      case Id.RetainAvailable:
        props.retainAvailable = flag(r, id);
        break;
      case Id.UserProperty: {
        const pair: UserProperty = [r.utf8(), r.utf8()]; // [MQTT-1.5.7-1]
        if (props.userProperties === undefined) props.userProperties = [pair];
        else props.userProperties.push(pair);
        break;
      }
      case Id.MaximumPacketSize: {
        const v = r.u32();
        // spec 3.1.2.11.4 / 3.2.2.3.6: Maximum Packet Size 0 is a Protocol Error
        if (v === 0) throw protocolError('Maximum Packet Size 0');
        props.maximumPacketSize = v;
        break;
      }
      case Id.WildcardSubscriptionAvailable:
        props.wildcardSubscriptionAvailable = flag(r, id);
        break;
      case Id.SubscriptionIdentifiersAvailable:
        props.subscriptionIdentifiersAvailable = flag(r, id);
        break;
      case Id.SharedSubscriptionAvailable:
        props.sharedSubscriptionAvailable = flag(r, id);
        break;
      default:
        throw malformed(`unknown property 0x${id.toString(16)}`);
    }
  }
  if (r.pos !== end) throw malformed('property overruns its block');
  r.end = outerEnd;
  // spec 3.1.2.11.10 / 3.2.2.3.18 / 3.15.2.2.3: Authentication Data without Method
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
    throw protocolError('Authentication Data without Authentication Method');
  }
  return props;
}

/** Byte properties that are flags: any value other than 0 or 1 is a Protocol Error. */
function flag(r: Reader, id: number): number {
  const v = r.u8();
  if (v > 1) throw protocolError(`property 0x${id.toString(16)} must be 0 or 1, got ${v}`);
  return v;
}

function repeated(id: number): MqttProtocolError {
  return protocolError(`property 0x${id.toString(16)} appears more than once`);
}
