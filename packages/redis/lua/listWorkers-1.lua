--[[
  The live workers of a namespace: those whose registration has not lapsed,
  read in O(live workers). An entry of the index whose time has passed is
  skipped (the next heartbeat of any worker drops it), and so is one whose
  hash expired a moment before its entry would have.

  Input:
    KEYS[1] the registry "{ns}:workers" (sorted set: worker id -> lapses at)

    ARGV[1] the prefix of the workers' hashes "{ns}:worker:" (same slot)

  Output:
    { 0, now, { id, info, startedAt, heartbeatAt }, ... }

  Errors: none.
]]
-- @flags no-writes
-- @include "now"
local now = nowMs()
local reply = { 0, now }
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. string.format("%.17g", now), "+inf")
for _, id in ipairs(ids) do
  local fields = redis.call("HMGET", ARGV[1] .. id, "info", "startedAt", "heartbeatAt")
  if fields[1] then reply[#reply + 1] = { id, fields[1], fields[2], fields[3] } end
end
return reply
