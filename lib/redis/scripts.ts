/**
 * The Lua scripts that keep a cluster's state consistent: each runs
 * atomically in Redis, so lookup and action never race another node. Every
 * key is built from the prefix `cio:{<namespace>}:` (one hash tag); leases
 * are compared with Redis's own clock (`TIME`), so node clocks may differ.
 *
 * ARGV[1] is always the prefix, ARGV[2] this node's id.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local P, me = ARGV[1], ARGV[2]
local function live(node)
  local lease = redis.call('ZSCORE', P .. 'nodes', node)
  return lease and tonumber(lease) > now
end
-- A holder counts only while its process listens: a node killed with SIGKILL
-- loses its inbox subscriber at once, so its names are free before its lease ends.
local function holds(node)
  return live(node) and redis.call('PUBSUB', 'NUMSUB', P .. 'inbox:' .. node)[2] > 0
end
local function take(name, n)
  redis.call('HSET', P .. 'owners', name, me)
  redis.call('SADD', P .. 'agents:' .. me, name)
  if n > 0 then
    local counter = tonumber(redis.call('GET', P .. 'counter') or '0')
    if n > counter then redis.call('SET', P .. 'counter', n) end
  else
    redis.call('SADD', P .. 'foreign', name)
  end
end
`

/** ARGV: prefix, me, name prefix, width, name suffix, high-water. Returns the name, or nil while recovering. */
export const ALLOCATE = `${NOW}
if redis.call('EXISTS', P .. 'epoch') == 0 or redis.call('EXISTS', P .. 'recovering') == 1 then return false end
local counter = tonumber(redis.call('GET', P .. 'counter') or '0')
local high = tonumber(ARGV[6])
if counter < high then redis.call('SET', P .. 'counter', high) end
local width = tonumber(ARGV[4])
for i = 1, 100 do
  local digits = string.format('%.0f', redis.call('INCR', P .. 'counter'))
  if #digits < width then digits = string.rep('0', width - #digits) .. digits end
  local name = ARGV[3] .. digits .. ARGV[5]
  if redis.call('HSETNX', P .. 'owners', name, me) == 1 then
    redis.call('SADD', P .. 'agents:' .. me, name)
    return name
  end
end
return redis.error_reply('no free name after 100 tries')
`

/** ARGV: prefix, me, name, n (0 outside the format). Returns the holder (live lease and a listening inbox), or nil when taken. */
export const CLAIM = `${NOW}
local name = ARGV[3]
local owner = redis.call('HGET', P .. 'owners', name)
if owner and owner ~= me then
  if holds(owner) then return owner end
  redis.call('SREM', P .. 'agents:' .. owner, name)
end
take(name, tonumber(ARGV[4]))
return false
`

/** ARGV: prefix, me, name. */
export const RELEASE = `
local P, me, name = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'owners', name) == me then redis.call('HDEL', P .. 'owners', name) end
redis.call('SREM', P .. 'agents:' .. me, name)
return 1
`

/** ARGV: prefix, me, then pairs of name and n. Returns pairs of name and holder for names a live node holds. */
export const RECONCILE = `${NOW}
local keep = {}
for i = 3, #ARGV, 2 do keep[ARGV[i]] = true end
for _, name in ipairs(redis.call('SMEMBERS', P .. 'agents:' .. me)) do
  if not keep[name] then
    if redis.call('HGET', P .. 'owners', name) == me then redis.call('HDEL', P .. 'owners', name) end
    redis.call('SREM', P .. 'agents:' .. me, name)
  end
end
local held = {}
for i = 3, #ARGV, 2 do
  local name = ARGV[i]
  local owner = redis.call('HGET', P .. 'owners', name)
  if owner and owner ~= me and holds(owner) then
    held[#held + 1] = name
    held[#held + 1] = owner
  else
    if owner and owner ~= me then redis.call('SREM', P .. 'agents:' .. owner, name) end
    take(name, tonumber(ARGV[i + 1]))
  end
end
return held
`

/** ARGV: prefix, me, name, n, payload. Returns {kind, node, receivers}. */
export const ROUTE = `${NOW}
local name, n = ARGV[3], tonumber(ARGV[4])
local owner = redis.call('HGET', P .. 'owners', name)
if not owner then
  if n > 0 then
    if n <= tonumber(redis.call('GET', P .. 'counter') or '0') then return {'notConnected'} end
    return {'unknown'}
  end
  if redis.call('SISMEMBER', P .. 'foreign', name) == 1 then return {'notConnected'} end
  return {'unknown'}
end
if owner == me then return {'self'} end
if not live(owner) then return {'nodeDown', owner} end
return {'sent', owner, redis.call('PUBLISH', P .. 'inbox:' .. owner, ARGV[5])}
`

/** ARGV: prefix, me, payload. Returns {node, receivers, names} for every other live node. */
export const FANOUT = `${NOW}
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '(' .. now, '+inf')) do
  if node ~= me then
    local names = redis.call('SMEMBERS', P .. 'agents:' .. node)
    out[#out + 1] = {node, redis.call('PUBLISH', P .. 'inbox:' .. node, ARGV[3]), names}
  end
end
return out
`

/**
 * ARGV: prefix, me, nodeTimeout, known epoch ('' at first), high-water, a new
 * epoch, recovery ms, node name, host, pid, started. A missing epoch means a
 * new or emptied Redis: whoever sets the new one also holds allocation back
 * (recovering) until every live node has pushed its high-water mark and
 * re-claimed its names. Expired nodes are removed with their names.
 * Returns {epoch, member (1/0), live nodes}.
 */
export const HEARTBEAT = `${NOW}
local lease = redis.call('ZSCORE', P .. 'nodes', me)
local member = lease and tonumber(lease) > now
local epoch = redis.call('GET', P .. 'epoch')
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', P .. 'epoch', epoch)
  redis.call('SET', P .. 'recovering', '1', 'PX', ARGV[7])
elseif ARGV[4] ~= '' and ARGV[4] ~= epoch then
  redis.call('SET', P .. 'recovering', '1', 'PX', ARGV[7])
end
local counter = tonumber(redis.call('GET', P .. 'counter') or '0')
local high = tonumber(ARGV[5])
if counter < high then redis.call('SET', P .. 'counter', high) end
redis.call('ZADD', P .. 'nodes', now + tonumber(ARGV[3]), me)
redis.call('HSET', P .. 'node:' .. me, 'name', ARGV[8], 'host', ARGV[9], 'pid', ARGV[10], 'started', ARGV[11])
redis.call('PEXPIRE', P .. 'node:' .. me, tonumber(ARGV[3]) * 2)
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now, 'LIMIT', 0, 16)) do
  for _, name in ipairs(redis.call('SMEMBERS', P .. 'agents:' .. dead)) do
    if redis.call('HGET', P .. 'owners', name) == dead then redis.call('HDEL', P .. 'owners', name) end
  end
  redis.call('DEL', P .. 'agents:' .. dead, P .. 'node:' .. dead)
  redis.call('ZREM', P .. 'nodes', dead)
end
return {epoch, member and 1 or 0, redis.call('ZRANGEBYSCORE', P .. 'nodes', '(' .. now, '+inf')}
`

/** ARGV: prefix, me. Returns name, node pairs of agents on live nodes. */
export const LIST_AGENTS = `${NOW}
local out = {}
local owners = redis.call('HGETALL', P .. 'owners')
for i = 1, #owners, 2 do
  if live(owners[i + 1]) then
    out[#out + 1] = owners[i]
    out[#out + 1] = owners[i + 1]
  end
end
return out
`

/** ARGV: prefix, me. Returns {id, fields} for every live node. */
export const LIST_NODES = `${NOW}
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '(' .. now, '+inf')) do
  out[#out + 1] = {node, redis.call('HGETALL', P .. 'node:' .. node)}
end
return out
`

/** ARGV: prefix, me. */
export const LEAVE = `
local P, me = ARGV[1], ARGV[2]
for _, name in ipairs(redis.call('SMEMBERS', P .. 'agents:' .. me)) do
  if redis.call('HGET', P .. 'owners', name) == me then redis.call('HDEL', P .. 'owners', name) end
end
redis.call('DEL', P .. 'agents:' .. me, P .. 'node:' .. me)
redis.call('ZREM', P .. 'nodes', me)
return 1
`

/** Every script by the command name it is defined under. */
export const scripts = {
  cioAllocate: ALLOCATE,
  cioClaim: CLAIM,
  cioRelease: RELEASE,
  cioReconcile: RECONCILE,
  cioRoute: ROUTE,
  cioFanout: FANOUT,
  cioHeartbeat: HEARTBEAT,
  cioListAgents: LIST_AGENTS,
  cioListNodes: LIST_NODES,
  cioLeave: LEAVE,
} as const

export type ScriptName = keyof typeof scripts
