--[[
  Runs due by the store's now minus a grace period (timers passed, signals
  delivered, leases expired), earliest first, and when the next one after
  that falls due. The sweeper
  reads this to re-enqueue runs whose wake-up job was lost. A partition's far timers (see
  header.lua) count too: a store no worker promotes them for (an engine in one process) finds
  them here when they come due.

  Input:
    KEYS[1] due index           (sorted set, score dueAt)
    KEYS[2] timers index        (sorted set, score dueAt; absent for the schedules' due index)

    ARGV[1] most ids to return
    ARGV[2] grace in ms: only runs due before now - grace count (really late)

  Output:
    { 0, { id, ... }, nextDueAt or nil, now }   now is the store's clock, without the grace

  Errors: none.
]]
-- @flags no-writes
-- @include "now"

local now = nowMs()
local nowText = string.format("%.17g", now - tonumber(ARGV[2]))
local limit = tonumber(ARGV[1])
-- A far timer taken by a worker of an earlier version stayed in the due index too: each id once.
local ids, seen, nextDueAt = {}, {}, nil
for _, key in ipairs(KEYS) do
  if #ids < limit then
    for _, id in ipairs(redis.call("ZRANGEBYSCORE", key, "-inf", nowText, "LIMIT", 0, limit - #ids)) do
      if not seen[id] then
        seen[id] = true
        ids[#ids + 1] = id
      end
    end
  end
  local next = redis.call("ZRANGEBYSCORE", key, "(" .. nowText, "+inf", "WITHSCORES", "LIMIT", 0, 1)
  local at = next[2] and tonumber(next[2])
  if at and (nextDueAt == nil or at < nextDueAt) then nextDueAt = at end
end
return { 0, ids, nextDueAt or false, now }
