--[[
  Buffers a signal (first in, first out per name). When the run is parked
  waiting for it, the run becomes due now ("woke"); otherwise it waits in the
  buffer until a step takes it.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] signal buffer of (run, signal name) (list, oldest first)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] signal name
    ARGV[4] payload (encoded bytes)

  Output:
    { 0, "woke", dueAt, version }
    { 0, "buffered", dueAt or nil, version }   the run's version after the call

  Errors: -1 unknown instance, -3 run finished, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "waits"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
local h, err = requireRun(ctx)
if err then return err end
local finished = liveError(h)
if finished then return finished end
local waits, werr = decodeWaits(h)
if werr then return werr end

redis.call("RPUSH", KEYS[2], ARGV[4])
if h.status ~= "parked" or not waitsForSignal(waits, ARGV[3]) then
  return { 0, "buffered", tonumber(h.dueAt) or false, tonumber(h.version) }
end
ctx.now = nowMs()
local version = writeHeader(ctx, h, { dueAt = num(ctx.now) })
return { 0, "woke", ctx.now, version }
