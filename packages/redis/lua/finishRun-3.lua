--[[
  Ends the run: "completed" with its result, or "failed" with its error. A
  requested cancel wins over completion. Publishes the end on the finish
  channel.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] "completed" or "failed"
    ARGV[5] result (encoded bytes) when completed, the error as JSON when failed
    ARGV[6] attempts that failed since the run's last write, JSON (see includes/attempts.lua), or ""

  Output:
    { 0, "finished", version }
    { 1, "cancelled", version }

  Errors: -1 unknown instance, -2 stale version, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "attempts"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
local h, err = expectVersion(ctx, ARGV[3])
if err then return err end
ctx.now = nowMs()
recordFailures(ctx, ARGV[6])
if h.requested == "cancel" then
  return { 1, "cancelled", writeHeader(ctx, h, { status = "cancelled", waits = "[]", dueAt = "", requested = "" }) }
end
local changes = { status = ARGV[4], waits = "[]", dueAt = "", requested = "", error = "" }
if ARGV[4] == "completed" then
  redis.call("HSET", KEYS[2], RESULT_FIELD, ARGV[5])
else
  changes.error = ARGV[5]
end
return { 0, "finished", writeHeader(ctx, h, changes) }
