--[[
  Cancels the run: at once unless it is running, else at its next step
  boundary: the request is recorded without a new version, so the worker
  holding the run reaches that boundary and stops there. For a running run
  the id is published on "{ns}:cancels", so that worker aborts the tasks in
  flight now (at most once: its next lease renewal answers the request too).

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id

  Output:
    { 0, status, immediate (1 or 0), version after the call }

  Errors: -1 unknown instance, -3 run finished, -4 corrupt header.
]]
-- @include "now"
-- @include "header"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h, err = requireRun(ctx)
if err then return err end
local finished = liveError(h)
if finished then return finished end
ctx.now = nowMs()
if h.status == "running" then
  recordRequest(ctx, h, "cancel")
  recordEvent(ctx, { type = "cancel.requested" })
  redis.call("PUBLISH", ctx.prefix .. "cancels", ctx.id)
  return { 0, "running", 0, tonumber(h.version) }
end
writeHeader(ctx, h, { status = "cancelled", waits = "[]", dueAt = "", requested = "" })
return { 0, "cancelled", 1, tonumber(h.version) }
