--[[
  Records that attempt n of a step starts, before the task runs, so attempts
  spent on a worker that dies still count (see core's runStep), and opens its
  record (includes/attempts.lua). Renews the lease as touchRun does (no new
  version) and answers the cancel or pause asked of the run.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] commit key of the step
    ARGV[5] the attempt that starts (1-based)
    ARGV[6] lease in ms
    ARGV[7] attempts that failed since the run's last write (the one before this, retried), JSON, or ""

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
recordFailures(ctx, ARGV[7])
startAttemptRecord(ctx, ARGV[4], tonumber(ARGV[5]))
renewLease(ctx, h, tonumber(ARGV[6]), { ATTEMPTS_PREFIX .. ARGV[4], ARGV[5] })
return { 0, h.requested or "" }
