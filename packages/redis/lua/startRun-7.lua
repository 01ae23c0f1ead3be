--[[
  Creates a run unless its id exists: status "pending", version 1, due now.
  Never starts a second run for one id.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] run attempts        (hash)
    KEYS[3] run input/result    (hash)
    KEYS[4] due index           (sorted set, score dueAt)
    KEYS[5] status index of "pending" (sorted set, score createdAt)
    KEYS[6] workflow index      (sorted set, score createdAt)
    KEYS[7] index of all runs   (sorted set, score createdAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] workflow name
    ARGV[4] workflow hash
    ARGV[5] input (encoded bytes)
    ARGV[6] the signal names the definition waits for (JSON array), kept in header field "signals"

  Output:
    { 0, created (1 or 0), headerFields, attemptsFields }

  Errors: none.
]]
-- @include "now"
-- @include "header"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], attemptsKey = KEYS[2], dueKey = KEYS[4] }
if redis.call("EXISTS", ctx.headerKey) == 1 then
  local reply = headerReply(ctx)
  return { 0, 0, reply[1], reply[2] }
end

local now = num(nowMs())
redis.call("HSET", ctx.headerKey,
  "id", ctx.id, "workflow", ARGV[3], "hash", ARGV[4], "status", "pending", "version", "1",
  "waits", "[]", "error", "", "requested", "", "dueAt", now, "createdAt", now, "updatedAt", now,
  "lastCommit", "", "signals", ARGV[6])
redis.call("HSET", KEYS[3], "input", ARGV[5])
redis.call("ZADD", KEYS[4], now, ctx.id)
redis.call("ZADD", KEYS[5], now, ctx.id)
redis.call("ZADD", KEYS[6], now, ctx.id)
redis.call("ZADD", KEYS[7], now, ctx.id)
-- The workflow-and-status index is derived, as writeHeader derives it when the status changes.
redis.call("ZADD", ctx.prefix .. "wfstatus:pending:" .. ARGV[3], now, ctx.id)
local reply = headerReply(ctx)
return { 0, 1, reply[1], reply[2] }
