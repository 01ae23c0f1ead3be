--[[
  A step's heartbeat: extends a running run's lease, as touchRun does, and
  records the step's latest progress (replacing the one before) with the
  store's time. Not a new version: the holder keeps writing with the version
  it has. Answers the cancel or pause asked of the run.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] due index           (sorted set, score dueAt)
    KEYS[3] run progress        (hash: commit key -> details, "#at:" .. commit key -> store time)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] lease in ms
    ARGV[5] commit key of the step
    ARGV[6] details (encoded bytes)

  Output:
    { 0, requested ("cancel", "pause" or "") }

  Errors: -1 unknown instance, -2 stale version, -4 corrupt header.
]]
-- @include "now"
-- @include "header"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h, err = expectVersion(ctx, ARGV[3], LEASE_FIELDS)
if err then return err end
ctx.now = nowMs()
renewLease(ctx, h, tonumber(ARGV[4]))
-- "#" never starts a commit key (step ids cannot hold it), so the time field cannot collide with one.
redis.call("HSET", KEYS[3], ARGV[5], ARGV[6], "#at:" .. ARGV[5], nowText(ctx))
return { 0, h.requested or "" }
