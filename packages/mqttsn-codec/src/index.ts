export { decodeSn, Flag, headerSize, qosOfFlags } from './decode.js';
export { encapsulate, encodeSn } from './encode.js';
export { MqttSnDecodeError, type SnDecodeFailure } from './errors.js';
export * from './packets.js';
export { snTypeName } from './type-name.js';
