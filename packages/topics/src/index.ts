export { topicMatches } from './match.js';
export { RetainedIndex } from './retained-index.js';
export { RouteReplica, type RouteReplicaOptions } from './route-replica.js';
export { parseSharedFilter } from './shared.js';
export { SPLIT_MAP_LIMIT, SplitMap } from './split-map.js';
export { SubscriptionTrie } from './subscription-trie.js';
export { countLevels, hasWildcard, isValidTopicFilter, isValidTopicName } from './validate.js';
