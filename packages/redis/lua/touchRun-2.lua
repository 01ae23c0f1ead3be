--[[
  Extends a running run's lease. Not a new version: the holder keeps writing
  with the version it has (as in the in-memory store). Answers the cancel or
  pause asked of the run, so a holder that missed the cancel message hears of
  it here. A lease of 0 releases the run: due now, for any worker.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] lease in ms
    ARGV[5] attempts that failed since the run's last write, JSON (see includes/attempts.lua), or ""

  Output:
    { 0, requested ("cancel", "pause" or "") }

  Errors: -1 unknown instance, -2 stale version, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "attempts"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h, err = expectVersion(ctx, ARGV[3], LEASE_FIELDS)
if err then return err end
ctx.now = nowMs()
recordFailures(ctx, ARGV[5])
renewLease(ctx, h, tonumber(ARGV[4]))
return { 0, h.requested or "" }
