--[[
  Takes the far timers (see header.lua) that come due within a window: moves them from the
  timers index to the due index and answers them, so the caller adds their delayed wake-up jobs.
  Atomic, so of the workers sweeping at once exactly one takes each; a worker that dies before
  adding the jobs leaves those runs to the sweep of overdue runs (they are in the due index).

  Input:
    KEYS[1] timers index (sorted set: run id -> when it is due)
    KEYS[2] due index    (sorted set, score dueAt)

    ARGV[1] the window, ms: timers due before now + window are taken
    ARGV[2] most timers to take

  Output:
    { 0, { id, dueAt, id, dueAt, ... }, now }

  Errors: none.
]]
-- @include "now"

local now = nowMs()
local taken = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", string.format("%.17g", now + tonumber(ARGV[1])), "WITHSCORES", "LIMIT", 0, tonumber(ARGV[2]))
for i = 1, #taken, 2 do
  redis.call("ZREM", KEYS[1], taken[i])
  redis.call("ZADD", KEYS[2], taken[i + 1], taken[i])
end
return { 0, taken, now }
