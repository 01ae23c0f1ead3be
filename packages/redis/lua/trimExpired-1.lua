--[[
  The retention sweep: for each run of the retention index whose time has
  come, removes what Redis expiry cannot (its index entries, the sorted-set
  members) and deletes whatever key of it is left. When the id has since been
  started again, only the old run's entries that the new run does not share go.

  Input:
    KEYS[1] retention index "{ns}:expiring" (sorted set, member [id, status, workflow], score expiry)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] most runs to trim

  Output:
    { 0, trimmed, next expiry or nil }

  Errors: none.
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "lifecycle"

local prefix = ARGV[1]
local now = nowMs()
local members = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, tonumber(ARGV[2]))
for _, member in ipairs(members) do
  redis.call("ZREM", KEYS[1], member)
  local entry = cjson.decode(member)
  local id, status, workflow = entry[1], entry[2], entry[3]
  local h = loadHeader(prefix .. "run:" .. id)
  if not h or (h.status == status and h.workflow == workflow) then
    -- Gone, or this very run a millisecond before its keys expire (TIME and key expiry are read apart).
    -- A later run under the same id finishing the same way would have moved this member's score on.
    dropRun(prefix, id, h or { status = status, workflow = workflow })
  else
    if h.status ~= status then
      redis.call("ZREM", prefix .. "status:" .. status, id)
      redis.call("ZREM", prefix .. "fin:" .. status, id)
    end
    if h.status ~= status or h.workflow ~= workflow then
      redis.call("ZREM", prefix .. "wfstatus:" .. status .. ":" .. workflow, id)
      redis.call("ZREM", prefix .. "wffin:" .. status .. ":" .. workflow, id)
    end
  end
end
local next = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
return { 0, #members, next[2] and tonumber(next[2]) or false }
