--[[
  A limit's state, all under the limit's own hash tag (see packages/redis/ARCHITECTURE.md,
  "Flow control"): `taken` (sorted set: a concurrency limit's holders scored by lease expiry, and
  the slots a release granted to waiting runs, scored by when the grant lapses; or a rate limit's
  admissions scored by time), `waiters` (sorted set scored by priority then arrival, see
  waiterScore in packages/core/src/flow-control/types.ts) and `wexp` (sorted set: each waiter's
  time in line). Mirrors MemoryFlowControl (packages/core/src/flow-control/memory.ts).
]]

-- %.17g keeps every integer below 2^53 exact (scores reach 2^53 - a little).
local function fmt(n)
  return string.format("%.17g", n)
end

-- A slot granted to run `id` is the member GRANT .. id of `taken`. Holder ids are sent as UTF-8,
-- which never holds the byte 255, so no holder id is ever taken for a grant, whatever the run ids.
local GRANT = "\255"

-- Drops lapsed holders and grants (or admissions older than the window) and waiters past their time.
local function pruneLimit(takenKey, waitersKey, wexpKey, now, periodMs)
  if periodMs > 0 then
    redis.call("ZREMRANGEBYSCORE", takenKey, "-inf", fmt(now - periodMs))
  else
    redis.call("ZREMRANGEBYSCORE", takenKey, "-inf", fmt(now))
  end
  local lapsed = redis.call("ZRANGEBYSCORE", wexpKey, "-inf", fmt(now), "LIMIT", 0, 1000)
  if #lapsed > 0 then
    redis.call("ZREM", waitersKey, unpack(lapsed))
    redis.call("ZREM", wexpKey, unpack(lapsed))
  end
end

-- Holds a concurrency slot (or a grant) in `taken` until `expiry`; the key outlives every lease in it.
local function holdSlot(takenKey, member, expiry, leaseMs)
  redis.call("ZADD", takenKey, fmt(expiry), member)
  redis.call("PEXPIRE", takenKey, leaseMs + 1000)
end
