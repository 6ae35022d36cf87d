import { MqttProtocolError, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { isValidTopicFilter } from './validate.js';

const PREFIX = '$share/';

/**
 * Splits a shared subscription filter `$share/{ShareName}/{filter}` (MQTT 5.0 section 4.8.2).
 * Returns undefined when the filter is not shared (does not start with "$share/"). Throws
 * MqttProtocolError(0x8F Topic Filter invalid) when the share name is empty or contains '+', '#'
 * [MQTT-4.8.2-2], when no filter follows it [MQTT-4.8.2-1], or when that filter is not a valid
 * topic filter. A '/' ends the share name, so it can never contain one [MQTT-4.8.2-2].
 */
export function parseSharedFilter(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith(PREFIX)) return undefined;
  const end = filter.indexOf('/', PREFIX.length);
  if (end === -1) {
    throw new MqttProtocolError(ReasonCode.TopicFilterInvalid, 'shared subscription without a topic filter', 'MQTT-4.8.2-1');
  }
  const group = filter.slice(PREFIX.length, end);
  if (group.length === 0) {
    throw new MqttProtocolError(ReasonCode.TopicFilterInvalid, 'shared subscription with an empty share name', 'MQTT-4.8.2-1');
  }
  if (group.indexOf('+') !== -1 || group.indexOf('#') !== -1) {
    throw new MqttProtocolError(ReasonCode.TopicFilterInvalid, 'share name contains a wildcard', 'MQTT-4.8.2-2');
  }
  const inner = filter.slice(end + 1);
  if (inner.length === 0) {
    throw new MqttProtocolError(ReasonCode.TopicFilterInvalid, 'shared subscription without a topic filter', 'MQTT-4.8.2-1');
  }
  if (!isValidTopicFilter(inner)) {
    throw new MqttProtocolError(ReasonCode.TopicFilterInvalid, 'shared subscription with an invalid topic filter', 'MQTT-4.7.1-1');
  }
  return { group, filter: inner };
}
