export { topicMatches } from './match.js';
export { RetainedIndex } from './retained-index.js';
export { parseSharedFilter } from './shared.js';
export { SubscriptionTrie } from './subscription-trie.js';
export { countLevels, hasWildcard, isValidTopicFilter, isValidTopicName } from './validate.js';
