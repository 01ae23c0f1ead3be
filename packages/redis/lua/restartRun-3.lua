--[[
  Starts a run afresh under an id that may be taken (start with
  onConflict "terminateExisting"): the old run, live or finished, is deleted
  with its keys and index entries (a running one is told to abort its tasks,
  on "{ns}:cancels"), and the new run starts "pending", due now, at the old
  version + 1, so a worker still holding the old run is fenced.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] workflow name
    ARGV[4] workflow hash
    ARGV[5] input (encoded bytes)
    ARGV[6] the signal names the definition waits for (JSON array), kept in header field "signals"

  Output:
    { 0, replaced (1 or 0), headerFields }

  Errors: none.
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "lifecycle"

local prefix, id, workflow = ARGV[1], ARGV[2], ARGV[3]
local ctx = { prefix = prefix, id = id, headerKey = KEYS[1], dueKey = KEYS[3] }
local old = loadHeader(KEYS[1])
local version = 1
if old then
  version = (tonumber(old.version) or 0) + 1
  if old.status == "running" then redis.call("PUBLISH", prefix .. "cancels", id) end
  dropRun(prefix, id, old)
end

local now = num(nowMs())
redis.call("HSET", KEYS[1],
  "workflow", workflow, "hash", ARGV[4], "status", "pending", "version", num(version),
  "waits", "[]", "dueAt", now, "createdAt", now, "updatedAt", now, "signals", ARGV[6])
redis.call("HSET", KEYS[2], INPUT_FIELD, ARGV[5])
redis.call("ZADD", KEYS[3], now, id)
for _, index in ipairs({ "status:pending", "wfstatus:pending:" .. workflow }) do
  redis.call("ZADD", prefix .. index, now, id)
end
-- The old run's history went with it (dropRun): the new one starts its own.
ctx.now = tonumber(now)
recordEvent(ctx, { type = "started" })
return { 0, old and 1 or 0, headerReply(ctx) }
