/**
 * The Lua scripts (run with EVAL; Redis caches them by SHA). Each touches keys of one hash tag
 * only, so they also run on Redis Cluster. A table write and its change-stream entry are one
 * atomic step: a watcher never sees a change that is not in the table, nor misses one that is.
 */

/** KEYS: routes hash, changes stream. ARGV: field, node, filter, maxlen. */
export const ADD_ROUTE = `
if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'op', 'a', 'node', ARGV[2], 'filter', ARGV[3])
  return 1
end
return 0`;

/** KEYS: routes hash, changes stream. ARGV: field, node, filter, maxlen. */
export const REMOVE_ROUTE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'op', 'r', 'node', ARGV[2], 'filter', ARGV[3])
  return 1
end
return 0`;

/** KEYS: routes hash, changes stream. ARGV: node, maxlen. Removes every route of a node. */
export const REMOVE_NODE_ROUTES = `
local prefix = ARGV[1] .. '\\0'
local n = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, #prefix) == prefix then
    redis.call('HDEL', KEYS[1], field)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'op', 'r', 'node', ARGV[1], 'filter', string.sub(field, #prefix + 1))
    n = n + 1
  end
end
return n`;

/** KEYS: a hash, its changes stream. Returns {last stream id, field1, field2, ...}: a consistent snapshot. */
export const SNAPSHOT_FIELDS = `
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
local out = {id}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do out[#out + 1] = field end
return out`;

/** KEYS: a stream. Returns its last entry id or 0-0. */
export const LAST_ID = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then return last[1][1] end
return '0-0'`;

/** KEYS: retained hash, changes stream. ARGV: topic, encoded message, node, maxlen. */
export const SET_RETAINED = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'op', 's', 'node', ARGV[3], 'topic', ARGV[1], 'msg', ARGV[2])
return 1`;

/** KEYS: retained hash, changes stream. ARGV: topic, node, maxlen. */
export const DELETE_RETAINED = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'op', 'd', 'node', ARGV[2], 'topic', ARGV[1])
  return 1
end
return 0`;

/** KEYS: owner hash, epoch counter. ARGV: node. Returns {previous node or '', previous epoch or '', new epoch}. */
export const REGISTER_CLIENT = `
local prev = redis.call('HMGET', KEYS[1], 'node', 'epoch')
local e = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', e)
return {prev[1] or '', prev[2] or '', e}`;

/**
 * KEYS: owner hash, epoch counter. ARGV: node, epoch. Deletes only if (node, epoch) still owns
 * the id; the counter is kept a day (epochs stay monotonic across quick reconnects) then expires.
 */
export const UNREGISTER_CLIENT = `
local cur = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('EXPIRE', KEYS[2], 86400)
  return 1
end
return 0`;

/**
 * KEYS: owner hash, epoch counter. ARGV: node, epoch. Re-writes a registration this node holds
 * after Redis lost it (restarted empty): only when no owner is recorded or the recorded one is
 * older, and the counter is raised to at least `epoch` so later claims stay newer. Returns 1 when
 * written, 2 when it is recorded already, 0 when a newer owner exists (the caller then forgets its
 * stale registration).
 */
export const RESTORE_CLIENT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
local mine = tonumber(ARGV[2])
if cur > mine then return 0 end
if cur == mine then return 2 end
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
if c < mine then redis.call('SET', KEYS[2], ARGV[2]) end
redis.call('PERSIST', KEYS[2])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', ARGV[2])
return 1`;
