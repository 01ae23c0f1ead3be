--[[
  Resumes a paused run: it becomes due now (at its start time when that is still ahead), "parked" when it still has waits
  (the worker re-checks them) or "pending" otherwise. On a running run it
  withdraws a pause request; on any other run it does nothing.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id

  Output:
    { 0, status, 1, version after the call }   the change is always immediate

  Errors: -1 unknown instance, -3 run finished, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "waits"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h, err = requireRun(ctx)
if err then return err end
local finished = liveError(h)
if finished then return finished end
ctx.now = nowMs()
if h.status == "running" then
  if h.requested == "pause" then
    recordRequest(ctx, h, "")
    recordEvent(ctx, { type = "resumed" })
  end
  return { 0, "running", 1, tonumber(h.version) }
end
if h.status ~= "paused" then return { 0, h.status, 1, tonumber(h.version) } end
local waits, werr = decodeWaits(h)
if werr then return werr end
local status = #waits > 0 and "parked" or "pending"
-- A run paused before its delayed start still waits for it (as MemoryStore.resume).
local dueAt = ctx.now
for _, w in ipairs(waits) do
  if w.kind == "timer" and w.reason == "start" and w["until"] > dueAt then dueAt = w["until"] end
end
writeHeader(ctx, h, { status = status, dueAt = num(dueAt) }, { type = "resumed" })
return { 0, status, 1, tonumber(h.version) }
