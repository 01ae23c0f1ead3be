--[[
  Leaves the run parked and not due for a while, with an error saying why (a
  definition the worker lacks). Nothing committed changes.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] the error, JSON
    ARGV[5] ms until the run is due again

  Output:
    { 0, version }

  Errors: -1 unknown instance, -2 stale version, -4 corrupt header.
]]
-- @include "now"
-- @include "header"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h, err = expectVersion(ctx, ARGV[3])
if err then return err end
ctx.now = nowMs()
local changes = { status = "parked", error = ARGV[4], dueAt = num(ctx.now + tonumber(ARGV[5])) }
return { 0, writeHeader(ctx, h, changes, { type = "blocked", error = decodedEventError(ARGV[4]) }) }
