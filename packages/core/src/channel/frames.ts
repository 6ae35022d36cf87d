/** Small frames built by hand on the hot path, and the 5.0 -> 3.1.1 CONNACK code table. */
import { ConnectReturnCode, type ProtocolVersion, ReasonCode } from '@mqtt-broker/mqtt-codec';

/** PUBACK/PUBREC/PUBREL/PUBCOMP without properties; the reason code only for 5.0 and when not 0. */
export function ackFrame(type: 4 | 5 | 6 | 7, packetId: number, reasonCode: number, version: ProtocolVersion): Buffer {
  const long = version === 5 && reasonCode !== 0;
  const b = Buffer.allocUnsafe(long ? 5 : 4);
  b[0] = (type << 4) | (type === 6 ? 0x02 : 0); // [MQTT-3.6.1-1] PUBREL flags 0010
  b[1] = long ? 3 : 2;
  b[2] = packetId >> 8;
  b[3] = packetId & 0xff;
  if (long) b[4] = reasonCode;
  return b;
}

export const PINGRESP_FRAME = Buffer.from([0xd0, 0x00]);

/** The 3.1/3.1.1 return code for a 5.0 CONNACK reason code (3.1.1 table 3.1). */
export function connectReturnCodeFor(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.Success:
      return ConnectReturnCode.Accepted;
    case ReasonCode.UnsupportedProtocolVersion:
      return ConnectReturnCode.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid:
      return ConnectReturnCode.IdentifierRejected;
    case ReasonCode.BadUserNameOrPassword:
      return ConnectReturnCode.BadUserNameOrPassword;
    case ReasonCode.ServerUnavailable:
    case ReasonCode.ServerBusy:
    case ReasonCode.QuotaExceeded:
    case ReasonCode.ServerShuttingDown:
    case ReasonCode.UseAnotherServer:
    case ReasonCode.ServerMoved:
    case ReasonCode.ConnectionRateExceeded:
      return ConnectReturnCode.ServerUnavailable;
    default:
      return ConnectReturnCode.NotAuthorized;
  }
}

/**
 * The protocol level byte of a CONNECT at the start of `chunk`, when the chunk holds that far
 * (used to answer an unsupported level in the format the client is most likely to read).
 */
export function peekConnectLevel(chunk: Buffer | undefined): number | undefined {
  if (chunk === undefined || chunk.length < 2) return undefined;
  let i = 1;
  while (i < chunk.length && i < 5 && (chunk[i] & 0x80) !== 0) i++;
  i++;
  if (i + 2 > chunk.length) return undefined;
  const nameLength = (chunk[i] << 8) | chunk[i + 1];
  i += 2 + nameLength;
  return i < chunk.length ? chunk[i] : undefined;
}
