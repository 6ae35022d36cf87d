/** Why a datagram could not be decoded: the gateway counts drops by this label. */
export type SnDecodeFailure = 'bad_length' | 'unknown_type' | 'malformed';

/** The one error the decoder raises; the message says what was wrong, `reason` is the label. */
export class MqttSnDecodeError extends Error {
  readonly reason: SnDecodeFailure;
  constructor(reason: SnDecodeFailure, message: string) {
    super(message);
    this.name = 'MqttSnDecodeError';
    this.reason = reason;
  }
}
