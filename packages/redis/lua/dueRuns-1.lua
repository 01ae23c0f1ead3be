--[[
  Runs due by the store's now minus a grace period (timers passed, signals
  delivered, leases expired), earliest first, and when the next one after
  that falls due. The sweeper
  reads this to re-enqueue runs whose wake-up job was lost.

  Input:
    KEYS[1] due index           (sorted set, score dueAt)

    ARGV[1] most ids to return
    ARGV[2] grace in ms: only runs due before now - grace count (really late)

  Output:
    { 0, { id, ... }, nextDueAt or nil, now }   now is the store's clock, without the grace

  Errors: none.
]]
-- @include "now"

local now = nowMs()
local nowText = string.format("%.17g", now - tonumber(ARGV[2]))
local limit = tonumber(ARGV[1])
local ids = {}
if limit > 0 then ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", nowText, "LIMIT", 0, limit) end
local next = redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. nowText, "+inf", "WITHSCORES", "LIMIT", 0, 1)
return { 0, ids, next[2] and tonumber(next[2]) or false, now }
