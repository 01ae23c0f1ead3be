--[[
  Gives a concurrency slot back and answers the waiters it may let in (up to the free slots,
  first first), for the caller to wake. Or drops a waiter that waits no more.

  Input:
    KEYS[1] taken    (sorted set: holder -> lease expiry)
    KEYS[2] waiters  (sorted set: run id -> priority and arrival score)
    KEYS[3] wexp     (sorted set: run id -> when it leaves the line)

    ARGV[1] holder id ("" for none)
    ARGV[2] max slots
    ARGV[3] waiter to drop ("" for none)

  Output: the run ids to wake, first first (empty when a waiter was dropped).
]]
-- @include "now"
-- @include "limits"

local takenKey, waitersKey, wexpKey = KEYS[1], KEYS[2], KEYS[3]
if ARGV[3] ~= "" then
  redis.call("ZREM", waitersKey, ARGV[3])
  redis.call("ZREM", wexpKey, ARGV[3])
  return {}
end
if ARGV[1] ~= "" then redis.call("ZREM", takenKey, ARGV[1]) end
pruneLimit(takenKey, waitersKey, wexpKey, nowMs(), 0)
local free = tonumber(ARGV[2]) - redis.call("ZCARD", takenKey)
if free <= 0 then return {} end
return redis.call("ZRANGE", waitersKey, 0, free - 1)
