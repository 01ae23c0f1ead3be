--[[
  Gives a concurrency slot back (a holder's, or a grant its run will not claim) and hands the
  free slots straight to the first waiters, by priority then arrival: each leaves the line with a
  grant (the member GRANT .. run id of `taken`, for one lease) that its run's next admit claims,
  so the run finds its slot held when it comes, with no race to admit itself. Answers those runs,
  for the caller to wake. A grant its run never claims (it died, was cancelled or deleted) lapses
  with its lease, or comes back here at once when a wake finds the run gone.

  Input:
    KEYS[1] taken    (sorted set: holder -> lease expiry, GRANT .. run id -> when the grant lapses)
    KEYS[2] waiters  (sorted set: run id -> priority and arrival score)
    KEYS[3] wexp     (sorted set: run id -> when it leaves the line)

    ARGV[1] what comes back: "holder" (ARGV[2] a holder id) or "grant" (ARGV[2] the run id it was granted to)
    ARGV[2] holder id, or run id
    ARGV[3] max slots
    ARGV[4] lease in ms: how long a grant waits for its run

  Output: the run ids granted a slot, first first.
]]
-- @include "now"
-- @include "limits"

local takenKey, waitersKey, wexpKey = KEYS[1], KEYS[2], KEYS[3]
local leaseMs = tonumber(ARGV[4])
local now = nowMs()
redis.call("ZREM", takenKey, ARGV[1] == "grant" and GRANT .. ARGV[2] or ARGV[2])
pruneLimit(takenKey, waitersKey, wexpKey, now, 0)
local free = tonumber(ARGV[3]) - redis.call("ZCARD", takenKey)
if free <= 0 then return {} end
local granted = redis.call("ZRANGE", waitersKey, 0, free - 1)
for _, run in ipairs(granted) do
  holdSlot(takenKey, GRANT .. run, now + leaseMs, leaseMs)
  redis.call("ZREM", waitersKey, run)
  redis.call("ZREM", wexpKey, run)
end
return granted
