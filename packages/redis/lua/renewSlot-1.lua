--[[
  Renews a concurrency slot's lease, with the run's lease. A slot whose lease lapsed is not
  renewed: someone else may hold it now.

  Input:
    KEYS[1] taken (sorted set: holder -> lease expiry)

    ARGV[1] holder id
    ARGV[2] lease in ms

  Output: 1 renewed, 0 lapsed (or never held).
]]
-- @include "now"
-- @include "limits"

local now = nowMs()
local leaseMs = tonumber(ARGV[2])
local expiry = tonumber(redis.call("ZSCORE", KEYS[1], ARGV[1]))
if expiry == nil or expiry <= now then
  redis.call("ZREM", KEYS[1], ARGV[1])
  return 0
end
holdSlot(KEYS[1], ARGV[1], now + leaseMs, leaseMs)
return 1
