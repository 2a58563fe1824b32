"""The Lua scripts of the Redis job queue (infra/job_queues.py). Each is one atomic step.

A job is a hash `jobs:job:<id>` (name, payload, attempts, state, enqueued_at, ready_at,
last_error) plus its id in exactly one of: the `ready` list, the `delayed` sorted set (by
due time), the `running` sorted set (by visibility deadline) or the `dead` sorted set (by
time of death). `state` is the truth; an id found where its state says it is not (left by
a late acknowledgement) is skipped. Times are Redis server time in milliseconds, so worker
clocks need not agree. Scripts touch job hashes by a prefix: plain Redis, not Cluster.
"""

from __future__ import annotations

PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function wake(key, count, cap)
  for _ = 1, math.min(count, cap) do redis.call('RPUSH', key, 1) end
  redis.call('LTRIM', key, 0, cap - 1)
end
local function promote_due(delayed, ready, prefix, now)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 100)
  local moved = 0
  for _, id in ipairs(due) do
    redis.call('ZREM', delayed, id)
    if redis.call('HGET', prefix .. id, 'state') == 'delayed' then
      redis.call('HSET', prefix .. id, 'state', 'ready')
      redis.call('RPUSH', ready, id)
      moved = moved + 1
    end
  end
  return moved
end
-- A late success (already put back by the reaper but not yet taken again) still counts: the
-- job is done, its stale list entry is skipped. A stale attempt is not acknowledged.
local function acknowledge(running, prefix, id, attempt)
  local key = prefix .. id
  local state = redis.call('HGET', key, 'state')
  if redis.call('HGET', key, 'attempts') ~= attempt or (state ~= 'running' and state ~= 'ready')
  then return 0 end
  redis.call('ZREM', running, id)
  redis.call('DEL', key)
  return 1
end
local function bury(dead, key, id, now, error, keep_seconds)
  redis.call('HSET', key, 'state', 'dead', 'last_error', error)
  redis.call('ZADD', dead, now, id)
  redis.call('EXPIRE', key, keep_seconds)
end
"""

# KEYS: ready, delayed, dead, wake. ARGV: prefix, wake cap, then id, name, payload, delay_ms
# for each job. A job whose id is queued, delayed or running is left alone. Returns how many
# were queued.
ENQUEUE = """
local now = now_ms()
local queued_count = 0
for i = 3, #ARGV, 4 do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  local state = redis.call('HGET', key, 'state')
  if not state or state == 'dead' then
    redis.call('ZREM', KEYS[3], id)
    redis.call('DEL', key)
    local due = now + tonumber(ARGV[i + 3])
    local queued = 'ready'
    if due > now then queued = 'delayed' end
    redis.call('HSET', key, 'name', ARGV[i + 1], 'payload', ARGV[i + 2], 'attempts', 0,
      'state', queued, 'enqueued_at', now, 'ready_at', due)
    if queued == 'delayed' then
      redis.call('ZADD', KEYS[2], due, id)
    else
      redis.call('RPUSH', KEYS[1], id)
    end
    queued_count = queued_count + 1
  end
end
if queued_count > 0 then wake(KEYS[4], queued_count, tonumber(ARGV[2])) end
return queued_count
"""

# KEYS: ready, delayed, running, wake. ARGV: prefix, visibility_ms, idle wait ms, wake cap,
# most jobs to take, then pairs of id, attempt: jobs this worker finished, acknowledged first
# (a busy worker's acknowledgements ride on its next take). Returns {id, name, payload,
# attempt} for each job taken, in one flat list, or the milliseconds to wait before looking
# again when none is ready.
TAKE = """
for i = 6, #ARGV, 2 do acknowledge(KEYS[3], ARGV[1], ARGV[i], ARGV[i + 1]) end
local now = now_ms()
local promoted = promote_due(KEYS[2], KEYS[1], ARGV[1], now)
if promoted > 1 then wake(KEYS[4], promoted - 1, tonumber(ARGV[4])) end
local taken = {}
local most = tonumber(ARGV[5])
while #taken < 4 * most do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'state') == 'ready' then
    local attempt = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'state', 'running')
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
    local fields = redis.call('HMGET', key, 'name', 'payload')
    taken[#taken + 1] = id
    taken[#taken + 1] = fields[1]
    taken[#taken + 1] = fields[2]
    taken[#taken + 1] = attempt
  end
end
if #taken > 0 then return taken end
local wait = tonumber(ARGV[3])
local nearest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if nearest[2] then wait = math.max(math.min(wait, tonumber(nearest[2]) - now), 1) end
return wait
"""

# KEYS: running. ARGV: prefix, visibility_ms, then pairs of id, attempt. Returns lost count.
HEARTBEAT = """
local deadline = now_ms() + tonumber(ARGV[2])
local lost = 0
for i = 3, #ARGV, 2 do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('HGET', key, 'state') == 'running'
      and redis.call('HGET', key, 'attempts') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], deadline, ARGV[i])
  else
    lost = lost + 1
  end
end
return lost
"""

# KEYS: running. ARGV: prefix, then pairs of id, attempt. Returns how many were acknowledged.
SUCCEED = """
local done = 0
for i = 2, #ARGV, 2 do done = done + acknowledge(KEYS[1], ARGV[1], ARGV[i], ARGV[i + 1]) end
return done
"""

# KEYS: running, delayed, dead, wake. ARGV: prefix, id, attempt, dead (0/1), delay_ms, error,
# keep seconds, wake cap. The wake-up lets an idle worker shorten its wait to the retry's.
FAIL = """
local key = ARGV[1] .. ARGV[2]
if redis.call('HGET', key, 'state') ~= 'running'
    or redis.call('HGET', key, 'attempts') ~= ARGV[3] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
local now = now_ms()
if ARGV[4] == '1' then
  bury(KEYS[3], key, ARGV[2], now, ARGV[6], tonumber(ARGV[7]))
  return 2
end
local due = now + tonumber(ARGV[5])
redis.call('HSET', key, 'state', 'delayed', 'ready_at', due, 'last_error', ARGV[6])
redis.call('ZADD', KEYS[2], due, ARGV[2])
wake(KEYS[4], 1, tonumber(ARGV[8]))
return 1
"""

# KEYS: running, ready, wake. ARGV: prefix, id, attempt, wake cap.
RELEASE = """
local key = ARGV[1] .. ARGV[2]
if redis.call('HGET', key, 'state') ~= 'running'
    or redis.call('HGET', key, 'attempts') ~= ARGV[3] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HINCRBY', key, 'attempts', -1)
redis.call('HSET', key, 'state', 'ready', 'ready_at', now_ms())
redis.call('LPUSH', KEYS[2], ARGV[2])
wake(KEYS[3], 1, tonumber(ARGV[4]))
return 1
"""

# KEYS: ready, delayed, running, dead, wake. ARGV: prefix, max attempts, keep seconds, cap.
# Returns {jobs put back after their worker was lost, jobs buried for it}.
REAP = """
local now = now_ms()
local woken = promote_due(KEYS[2], KEYS[1], ARGV[1], now)
local requeued, buried = 0, 0
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'state') == 'running' then
    if tonumber(redis.call('HGET', key, 'attempts')) >= tonumber(ARGV[2]) then
      bury(KEYS[4], key, id, now, 'worker lost (visibility timeout) on the last attempt',
        tonumber(ARGV[3]))
      buried = buried + 1
    else
      redis.call('HSET', key, 'state', 'ready', 'ready_at', now)
      redis.call('RPUSH', KEYS[1], id)
      requeued = requeued + 1
    end
  end
end
local forgotten = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[3]) * 1000,
  'LIMIT', 0, 100)
for _, id in ipairs(forgotten) do
  redis.call('ZREM', KEYS[4], id)
  if redis.call('HGET', ARGV[1] .. id, 'state') == 'dead' then redis.call('DEL', ARGV[1] .. id) end
end
if woken + requeued > 0 then wake(KEYS[5], woken + requeued, tonumber(ARGV[4])) end
return {requeued, buried}
"""

# KEYS: ready, delayed, running, dead. ARGV: prefix.
# Returns {ready, delayed, running, dead, oldest waiting ms, oldest dead letter ms}.
STATS = """
local now = now_ms()
local due = redis.call('ZCOUNT', KEYS[2], '-inf', now)
local oldest = 0
local head = redis.call('LINDEX', KEYS[1], 0)
if head then
  local ready_at = redis.call('HGET', ARGV[1] .. head, 'ready_at')
  if ready_at then oldest = now - tonumber(ready_at) end
end
local first_due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
if first_due[2] then oldest = math.max(oldest, now - tonumber(first_due[2])) end
local oldest_dead = 0
local first_dead = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if first_dead[2] then oldest_dead = math.max(now - tonumber(first_dead[2]), 0) end
return {redis.call('LLEN', KEYS[1]) + due, redis.call('ZCARD', KEYS[2]) - due,
  redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]), math.max(oldest, 0), oldest_dead}
"""

# KEYS: dead, ready, wake. ARGV: prefix, wake cap, then job ids. Each id still dead goes
# back to `ready` with no attempts spent (and no expiry: a dead job's hash had one).
# Returns the ids moved.
RETRY_DEAD = """
local now = now_ms()
local moved = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'state') == 'dead' then
    redis.call('ZREM', KEYS[1], id)
    redis.call('PERSIST', key)
    redis.call('HSET', key, 'state', 'ready', 'attempts', 0, 'ready_at', now)
    redis.call('RPUSH', KEYS[2], id)
    moved[#moved + 1] = id
  end
end
if #moved > 0 then wake(KEYS[3], #moved, tonumber(ARGV[2])) end
return moved
"""

# KEYS: dead, ready, wake (unused: the same keys as RETRY_DEAD). ARGV: prefix, wake cap,
# then job ids. Each id still dead is forgotten. Returns the ids dropped.
DROP_DEAD = """
local dropped = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'state') == 'dead' then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', key)
    dropped[#dropped + 1] = id
  end
end
return dropped
"""
