export * from './errors.js';
export * from './packets.js';
export * from './reason-codes.js';
export { type EncodedPublish, encodePublish, withPacketId } from './encode-publish.js';
export { packetSize, serialize } from './encode.js';
export { packetTypeName } from './packet-type-name.js';
export { MAX_PACKET_SIZE, PacketParser, type ParserOptions } from './parser.js';
export {
  allowedProperties,
  PropertyId,
  type PropertyDefinition,
  type PropertyName,
  type PropertyScope,
  type PropertyWireType,
  propertyDefinitions,
  WILL,
} from './properties.js';
