--[[
  Writes a schedule: creates it (expected version 0) or replaces it when the caller read the
  version stored (compare-and-set), and places it in the schedules' due index. What the state
  means is the engine's (packages/core/src/engine/schedule-ticks.ts); the store keeps it as JSON.

  Input:
    KEYS[1] schedule            (hash: state (JSON), input (bytes), version, dueAt, createdAt, updatedAt)
    KEYS[2] schedules' due index (sorted set, score dueAt)
    KEYS[3] index of schedules  (sorted set, score 0, by id)

    ARGV[1] schedule id
    ARGV[2] the version read; "0" to create
    ARGV[3] state (JSON)
    ARGV[4] "1" when ARGV[5] is a new input, "0" to keep the stored one
    ARGV[5] input (encoded bytes)
    ARGV[6] due: "at" (ARGV[7] a time, or "" for none) or "lease" (ARGV[7] ms from the store's now)
    ARGV[7] the due time or lease

  Output:
    { 0, version, dueAt or nil, now }

  Errors: -1 unknown schedule, -2 stale version { -2, actual }, -5 the schedule exists.
]]
-- @include "now"

local now = nowMs()
local expected = tonumber(ARGV[2])
local stored = redis.call("HGET", KEYS[1], "version")
if expected == 0 and stored then return { -5 } end
if expected ~= 0 and not stored then return { -1 } end
if stored and tonumber(stored) ~= expected then return { -2, tonumber(stored) } end

local dueAt = nil
if ARGV[6] == "lease" then dueAt = now + tonumber(ARGV[7]) elseif ARGV[7] ~= "" then dueAt = tonumber(ARGV[7]) end
local nowText = string.format("%.17g", now)
local version = expected + 1
redis.call("HSET", KEYS[1], "state", ARGV[3], "version", tostring(version), "updatedAt", nowText,
  "dueAt", dueAt and string.format("%.17g", dueAt) or "")
if ARGV[4] == "1" then redis.call("HSET", KEYS[1], "input", ARGV[5]) end
if expected == 0 then
  redis.call("HSET", KEYS[1], "createdAt", nowText)
  redis.call("ZADD", KEYS[3], 0, ARGV[1])
end
if dueAt then
  redis.call("ZADD", KEYS[2], string.format("%.17g", dueAt), ARGV[1])
else
  redis.call("ZREM", KEYS[2], ARGV[1])
end
return { 0, version, dueAt or false, now }
