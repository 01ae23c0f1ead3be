--[[
  Admits one request of a concurrency or rate limit, or puts its run in line. A run that a
  release granted a slot of this limit to (releaseSlot-3.lua) is admitted at once: the grant
  becomes this holder's slot. Otherwise a waiter is admitted when fewer waiters are ahead of it
  than there are free slots (a grant not claimed yet counts as taken), so a newcomer never
  overtakes a waiter. A holder already admitted is admitted again (its lease renewed): a resent
  request, or the same hold asking twice, takes one slot.

  Input:
    KEYS[1] taken    (sorted set: holder -> lease expiry, and GRANT .. run id -> when the grant
                      lapses; or admission time for a rate limit)
    KEYS[2] waiters  (sorted set: run id -> priority and arrival score)
    KEYS[3] wexp     (sorted set: run id -> when it leaves the line unless it asks again)

    ARGV[1] kind: "concurrency" or "rate"
    ARGV[2] max: slots, or admissions per window
    ARGV[3] holder id
    ARGV[4] waiter (run id)
    ARGV[5] priority (-1000 to 1000): a waiter not in line yet is scored (1000 - priority) * 2^42 + now
    ARGV[6] window in ms (rate), 0 for a concurrency limit
    ARGV[7] lease in ms

  Output:
    { 1 }                   admitted
    { 0, retryAt, now }     refused and in line; retryAt: when a slot may lapse, or (rate) when the
                            window may have room for it given the waiters ahead
]]
-- @include "now"
-- @include "limits"

local takenKey, waitersKey, wexpKey = KEYS[1], KEYS[2], KEYS[3]
local rate = ARGV[1] == "rate"
local max = tonumber(ARGV[2])
local holder, waiter = ARGV[3], ARGV[4]
local priority = tonumber(ARGV[5])
local periodMs = tonumber(ARGV[6])
local leaseMs = tonumber(ARGV[7])
local now = nowMs()

pruneLimit(takenKey, waitersKey, wexpKey, now, rate and periodMs or 0)
if redis.call("ZSCORE", takenKey, holder) then
  if not rate then holdSlot(takenKey, holder, now + leaseMs, leaseMs) end
  return { 1 }
end
if not rate and redis.call("ZREM", takenKey, GRANT .. waiter) == 1 then
  holdSlot(takenKey, holder, now + leaseMs, leaseMs)
  return { 1 }
end

local score = redis.call("ZSCORE", waitersKey, waiter)
local ahead
if score then
  ahead = redis.call("ZRANK", waitersKey, waiter)
else
  score = fmt((1000 - priority) * 4398046511104 + now)
  ahead = redis.call("ZCOUNT", waitersKey, "-inf", "(" .. score)
end
local free = max - redis.call("ZCARD", takenKey)
if ahead < free then
  if rate then
    redis.call("ZADD", takenKey, fmt(now), holder)
    redis.call("PEXPIRE", takenKey, periodMs + 1000)
  else
    holdSlot(takenKey, holder, now + leaseMs, leaseMs)
  end
  redis.call("ZREM", waitersKey, waiter)
  redis.call("ZREM", wexpKey, waiter)
  return { 1 }
end

local retryAt = now + leaseMs
if rate then
  -- The window's `max` slots, each used again a period after it was: the entries in it, oldest
  -- first, then the free ones, which the waiters ahead take now. Its turn comes with the slot the
  -- waiters ahead leave to it: the (ahead - free)-th to come free, counting round the slots.
  -- Staggered by rank, so the waiters do not all wake when the oldest entry leaves, crowding out
  -- the one whose turn it is.
  local turn = ahead - math.max(0, free)
  local slot = turn % max
  local entry = redis.call("ZRANGE", takenKey, slot, slot, "WITHSCORES")
  retryAt = (entry[2] and tonumber(entry[2]) or now) + (math.floor(turn / max) + 1) * periodMs
else
  local first = redis.call("ZRANGE", takenKey, 0, 0, "WITHSCORES")
  if #first == 2 then retryAt = tonumber(first[2]) end
end
local leaves = retryAt + 2 * leaseMs
redis.call("ZADD", waitersKey, "NX", score, waiter)
redis.call("ZADD", wexpKey, fmt(leaves), waiter)
redis.call("PEXPIRE", waitersKey, leaves - now + 1000)
redis.call("PEXPIRE", wexpKey, leaves - now + 1000)
return { 0, retryAt, now }
