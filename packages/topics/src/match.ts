/**
 * One filter against one topic, level by level with indexOf and no allocation. The trie is the
 * fast path for many filters; this is the reference semantics (and the test oracle's peer).
 * Both arguments are assumed valid (isValidTopicFilter / isValidTopicName).
 */

const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'
  if (topic.charCodeAt(0) === DOLLAR) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === HASH) return false;
  }
  const fl = filter.length;
  const tl = topic.length;
  let fs = 0; // start of the current filter level
  let ts = 0; // start of the current topic level; ts > tl when the topic has no level left
  for (;;) {
    let fe = filter.indexOf('/', fs);
    if (fe === -1) fe = fl;
    const flen = fe - fs;
    // [MQTT-4.7.1-1] '#' matches the parent level and any number of child levels
    if (flen === 1 && filter.charCodeAt(fs) === HASH) return true;
    if (ts > tl) return false;
    let te = topic.indexOf('/', ts);
    if (te === -1) te = tl;
    if (!(flen === 1 && filter.charCodeAt(fs) === PLUS)) {
      if (flen !== te - ts) return false;
      for (let i = 0; i < flen; i++) {
        if (filter.charCodeAt(fs + i) !== topic.charCodeAt(ts + i)) return false;
      }
    }
    fs = fe + 1;
    ts = te + 1;
    if (fs > fl) return ts > tl;
  }
}
