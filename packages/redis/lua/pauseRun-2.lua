--[[
  Pauses the run: at once unless it is running, else at its next step
  boundary. A pending cancel request is not downgraded to a pause.

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
  if h.requested ~= "cancel" then
    recordRequest(ctx, h, "pause")
    recordEvent(ctx, { type = "pause.requested" })
  end
  return { 0, "running", 0, tonumber(h.version) }
end
if h.status ~= "paused" then writeHeader(ctx, h, { status = "paused", dueAt = "" }) end
return { 0, "paused", 1, tonumber(h.version) }
