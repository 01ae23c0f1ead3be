--[[
  Creates a run unless its id exists: status "pending", version 1, due now; or, with a delayed
  start still ahead, "parked" on its "#start" timer. Never starts a second run for one id.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] run outputs         (hash: the input goes in)
    KEYS[3] due index           (sorted set, score dueAt)
    KEYS[4] status index of "pending" (sorted set, score createdAt)
    (createRun in includes/create.lua writes KEYS[2] and the indexes under names derived from ARGV[1],
    as signalWithStart-3.lua needs it to; these are the same keys, declared for the slot)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] workflow name
    ARGV[4] workflow hash
    ARGV[5] input (encoded bytes)
    ARGV[6] the signal names the definition waits for (JSON array), kept in header field "signals"
    ARGV[7] delayed start: "" (none), "at" or "delay"
    ARGV[8] with "at", the start time (ms since the epoch); with "delay", ms from the store's now
    ARGV[9] a child run's parent, JSON { id, key }, kept in header field "parent" ("" for none)

  Output:
    { 0, created (1 or 0), headerFields }

  Errors: none.
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "create"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
if redis.call("EXISTS", ctx.headerKey) == 1 then return { 0, 0, headerReply(ctx) } end
-- A new run's header is what createRun wrote: no read needed.
local header = createRun(ctx, { workflow = ARGV[3], hash = ARGV[4], input = ARGV[5], signals = ARGV[6], startKind = ARGV[7] or "", startValue = ARGV[8], parent = ARGV[9] })
return { 0, 1, header }
