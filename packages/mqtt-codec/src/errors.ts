import { ReasonCode, type ReasonCodeValue } from './reason-codes.js';

/**
 * The one error the codec raises: the input (or a packet handed to the serializer) breaks a
 * rule of the specification. `reasonCode` is the MQTT 5.0 code a server sends in its
 * CONNACK/DISCONNECT for it (0x81 malformed, 0x82 protocol error, 0x95 too large, ...);
 * `rule` names the normative statement when there is one, e.g. 'MQTT-3.3.2-2'.
 */
export class MqttProtocolError extends Error {
  readonly reasonCode: ReasonCodeValue;
  readonly rule: string | undefined;

  constructor(reasonCode: ReasonCodeValue, message: string, rule?: string) {
    super(rule === undefined ? message : `${message} [${rule}]`);
    this.name = 'MqttProtocolError';
    this.reasonCode = reasonCode;
    this.rule = rule;
  }
}

export function malformed(message: string, rule?: string): MqttProtocolError {
  return new MqttProtocolError(ReasonCode.MalformedPacket, message, rule);
}

export function protocolError(message: string, rule?: string): MqttProtocolError {
  return new MqttProtocolError(ReasonCode.ProtocolError, message, rule);
}
