/**
 * The Lua scripts (run with EVAL; Redis caches them by SHA; the session scripts below are defined
 * as ioredis commands, sent as EVALSHA once loaded on a connection). Each touches keys of one hash tag
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

/**
 * KEYS: a hash, its changes stream. Returns {last stream id, field1, field2, ...}: a consistent
 * snapshot (one script: no change lands between the id and the fields, so tailing the stream from
 * the id applies exactly the changes the fields miss). The whole hash is one reply, so it is read
 * this way only at a node's start (RedisRouteTable.routes); a resync reads the hash in HSCAN pages
 * after noting the id, which keeps the same guarantee (route-table.ts, `resyncPaged`).
 */
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

/**
 * KEYS: a drained inbox, its seal. ARGV: '1' to keep an inbox that has a consumer group (its
 * node came back), '0' otherwise; seconds to seal the inbox for once it is gone ('0': no seal).
 * Deletes it only when empty, in one step: a DEL after the last read lost what was appended in
 * between. Returns 0 when entries are left to drain, 1 when done.
 */
export const DELETE_IF_EMPTY = `
local function seal()
  if ARGV[2] ~= '0' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[2]) end
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 0 then return seal() end
if redis.call('XLEN', KEYS[1]) > 0 then return 0 end
if ARGV[1] == '1' and #redis.call('XINFO', 'GROUPS', KEYS[1]) > 0 then return 1 end
redis.call('DEL', KEYS[1])
return seal()`;

/**
 * KEYS: an inbox, its seal. ARGV: entry body, sending node. Appends the entry unless the inbox
 * is sealed (its node was cleaned up and its last look taken: nobody would read it); nil then.
 */
export const APPEND_UNLESS_SEALED = `
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
return redis.call('XADD', KEYS[1], '*', 'b', ARGV[1], 'n', ARGV[2])`;

/** KEYS: an inbox. Returns 1 when it has a consumer group (a node reads it), 0 when not or absent. */
export const HAS_GROUP = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #redis.call('XINFO', 'GROUPS', KEYS[1]) > 0 then return 1 end
return 0`;

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

/**
 * KEYS: owner hash, epoch counter. ARGV: node. Returns {previous node or '', previous epoch or '',
 * new epoch}. When another node owned the id, it is recorded as `from` (with the new epoch in
 * `fromEpoch`): it may still write the session it hands over, until the new owner loads it
 * (LOAD_SESSION) or the owner changes again (session fencing, FENCE below).
 */
export const REGISTER_CLIENT = `
local prev = redis.call('HMGET', KEYS[1], 'node', 'epoch')
local e = redis.call('INCR', KEYS[2])
if prev[1] and prev[1] ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', e, 'from', prev[1], 'fromEpoch', e)
else
  redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', e)
  redis.call('HDEL', KEYS[1], 'from', 'fromEpoch')
end
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


/**
 * Session fencing (docs/cluster.md, "Fencing"): may `node` write the session of a client? A Lua
 * function over the client's owner hash (node, epoch, from, fromEpoch), holder key and epoch
 * counter, all under the `{c:<id>}` hash tag with the session key (one Redis Cluster slot).
 * Allowed when the owner is `node`; or `node` is the previous owner handing the session over
 * (`from`, valid while the owner's epoch is still the one that recorded it and the new owner has
 * not loaded the session); or `node` is the survivor holding an adopted session for the owner
 * (`holder`). Both windows close when the owner loads the session (LOAD_SESSION); the handover
 * window also when the owner writes it itself (it may have adopted the session as the survivor
 * and never load it; a holder is then the owner itself). With no owner at all (Redis restarted empty, a CONNECT served while Redis was down,
 * no registry in use) the write lands unless the writer says which epoch it registered and the
 * counter shows a newer registration since (that owner came and went). Node ids, not epochs,
 * decide when there is an owner: a node re-registering its own client gets a new epoch but its
 * writes are ordered on one connection, and epochs restart with an empty Redis while node ids do not.
 * Returns true, or false, owner node, owner epoch.
 */
const FENCE = `
local function fence(owner, holder, counter, node, epoch)
  local o = redis.call('HMGET', owner, 'node', 'epoch', 'from', 'fromEpoch')
  if o[1] then
    if o[1] == node then
      -- the owner writes its own state: the handover window is over
      if o[3] then redis.call('HDEL', owner, 'from', 'fromEpoch') end
      return true
    end
    if o[3] == node and o[4] == o[2] then return true end
    if redis.call('GET', holder) == node then return true end
    return false, o[1], o[2]
  end
  if epoch ~= '' and tonumber(redis.call('GET', counter) or '0') > tonumber(epoch) then return false, '', '' end
  return true
end
`;

/**
 * KEYS: owner hash, holder, epoch counter, session, [session index: standalone Redis only, another
 * slot]. ARGV: node, writer epoch or '', client id, packed snapshot. Returns {1} when written,
 * {0, owner node, owner epoch} when refused.
 */
export const FENCED_SAVE = `${FENCE}
local ok, owner, epoch = fence(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
if not ok then return {0, owner, epoch} end
redis.call('SET', KEYS[4], ARGV[4])
if KEYS[5] then redis.call('SADD', KEYS[5], ARGV[3]) end
return {1}`;

/** KEYS and ARGV as FENCED_SAVE without the snapshot: deletes the session (and its index entry) if allowed. */
export const FENCED_DELETE = `${FENCE}
local ok, owner, epoch = fence(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
if not ok then return {0, owner, epoch} end
redis.call('DEL', KEYS[4])
if KEYS[5] then redis.call('SREM', KEYS[5], ARGV[3]) end
return {1}`;

/**
 * KEYS: owner hash, holder, session. ARGV: node. Returns the packed snapshot (or nil). When `node`
 * owns the client the handover window closes: the previous owner's `from` permit and another
 * node's `holder` hint are removed, so a late write by either is refused from now on.
 */
export const LOAD_SESSION = `
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'from', 'fromEpoch')
  local h = redis.call('GET', KEYS[2])
  if h and h ~= ARGV[1] then redis.call('DEL', KEYS[2]) end
end
return redis.call('GET', KEYS[3])`;

/**
 * The save-and-acknowledge of inbox entries on a single Redis, in one script (atomic, as the MULTI
 * it replaces): each snapshot is written only if FENCE allows it, then the entries are XACKed (when
 * `ack` is 1) and XDELed. KEYS: inbox, session index, then per snapshot owner hash, holder, epoch
 * counter, session. ARGV: group, entry ids (comma-separated: one, or a drained page), ack, node, then per snapshot writer epoch or '',
 * client id, packed snapshot. Returns the refused ones, flat: {client id, owner node, owner epoch, ...}.
 */
export const COMMIT_ENTRY = `${FENCE}
local node = ARGV[4]
local refused = {}
for i = 0, (#KEYS - 2) / 4 - 1 do
  local k = 2 + i * 4
  local a = 4 + i * 3
  local ok, owner, epoch = fence(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], node, ARGV[a + 1])
  if ok then
    redis.call('SET', KEYS[k + 4], ARGV[a + 3])
    redis.call('SADD', KEYS[2], ARGV[a + 2])
  else
    refused[#refused + 1] = ARGV[a + 2]
    refused[#refused + 1] = owner
    refused[#refused + 1] = epoch
  end
end
local ids = {}
for id in string.gmatch(ARGV[2], '[^,]+') do ids[#ids + 1] = id end
if ARGV[3] == '1' then redis.call('XACK', KEYS[1], ARGV[1], unpack(ids)) end
redis.call('XDEL', KEYS[1], unpack(ids))
return refused`;
