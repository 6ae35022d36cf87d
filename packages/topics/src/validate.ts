/**
 * Topic name and topic filter validation (MQTT 5.0 section 4.7, 3.1.1 section 4.7).
 *
 * Both checks are single passes over UTF-16 code units with no allocation. The UTF-8 length limit
 * of 65,535 bytes [MQTT-4.7.3-3] is only computed when the string is long enough to
 * possibly exceed it (each UTF-16 code unit encodes to at most 3 UTF-8 bytes).
 */

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const MAX_UTF8_BYTES = 65535;

function tooLong(s: string): boolean {
  return s.length > MAX_UTF8_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_UTF8_BYTES;
}

/**
 * A topic name as found in PUBLISH: at least one character [MQTT-4.7.3-1], no wildcard characters
 * [MQTT-3.3.2-2], no U+0000 [MQTT-4.7.3-2], no unpaired surrogate (ill-formed UTF-8 [MQTT-1.5.4-1]),
 * at most 65,535 bytes of UTF-8 [MQTT-4.7.3-3].
 */
export function isValidTopicName(topic: string): boolean {
  const n = topic.length;
  if (n === 0) return false; // [MQTT-4.7.3-1]
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH || c === 0) return false; // [MQTT-3.3.2-2] [MQTT-4.7.3-2]
    if (c >= 0xd800 && c <= 0xdfff) {
      // [MQTT-1.5.4-1]: a high surrogate must be followed by a low one.
      if (c >= 0xdc00 || i + 1 >= n) return false;
      const d = topic.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    }
  }
  return !tooLong(topic); // [MQTT-4.7.3-3]
}

/**
 * A topic filter as found in SUBSCRIBE/UNSUBSCRIBE: at least one character [MQTT-4.7.3-1], '#'
 * only as the last character and alone in its level [MQTT-4.7.1-1], '+' alone in its level
 * [MQTT-4.7.1-2], no U+0000 [MQTT-4.7.3-2], well-formed UTF-16, at most 65,535 bytes of UTF-8.
 * `$share/...` is not interpreted here: see parseSharedFilter.
 */
export function isValidTopicFilter(filter: string): boolean {
  const n = filter.length;
  if (n === 0) return false; // [MQTT-4.7.3-1]
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH) {
      // [MQTT-4.7.1-1] last character, preceded by a separator unless it is the whole filter
      if (i !== n - 1) return false;
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return false;
    } else if (c === PLUS) {
      // [MQTT-4.7.1-2] occupies an entire level
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return false;
      if (i + 1 < n && filter.charCodeAt(i + 1) !== SLASH) return false;
    } else if (c === 0) {
      return false; // [MQTT-4.7.3-2]
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00 || i + 1 >= n) return false;
      const d = filter.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    }
  }
  return !tooLong(filter);
}

/** Number of levels: one more than the number of '/' separators ("a//b" has 3, "/" has 2). */
export function countLevels(topicOrFilter: string): number {
  let count = 1;
  let i = topicOrFilter.indexOf('/');
  while (i !== -1) {
    count++;
    i = topicOrFilter.indexOf('/', i + 1);
  }
  return count;
}

/** True when the filter contains '+' or '#' in any level. */
export function hasWildcard(filter: string): boolean {
  return filter.indexOf('+') !== -1 || filter.indexOf('#') !== -1;
}
