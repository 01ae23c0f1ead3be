--[[
  Starts a run unless its id exists, then buffers a signal for it, in one atomic step: callers
  racing on one id make one run, and each buffers its signal once. The run is created as
  startRun-4.lua creates it (a delayed start included); the signal is delivered as
  signalRun-4.lua delivers it (a delivery id seen before buffers nothing; a finished run takes none).

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] signal buffer of (run, signal name) (list, oldest first)
    KEYS[3] delivery ids of the run (hash: delivery id -> "woke" | "buffered")
    (the input hash, the due index and the run indexes are derived from ARGV[1], as startRun's are)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] workflow name
    ARGV[4] workflow hash
    ARGV[5] input (encoded bytes)
    ARGV[6] the signal names the definition waits for (JSON array)
    ARGV[7] delayed start: "" (none), "at" or "delay"
    ARGV[8] with "at", the start time (ms since the epoch); with "delay", ms from the store's now
    ARGV[9] the parent's link, JSON { id, key } ("" for none)
    ARGV[10] signal name
    ARGV[11] signal payload (encoded bytes)
    ARGV[12] delivery id ("" for none)
    ARGV[13] how long delivery ids are remembered, in ms

  Output:
    { 0, created (1 or 0), headerFields, signalReply }
    where signalReply is signalRun's { 0, "woke" | "buffered", dueAt or nil, version, duplicate },
    or nil when the run exists as a run of another workflow (then nothing is buffered)

  Errors: -3 run finished (an existing run), -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "create"
-- @include "deliver"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = ARGV[1] .. "due" }
local created = 0
if redis.call("EXISTS", ctx.headerKey) == 0 then
  createRun(ctx, { workflow = ARGV[3], hash = ARGV[4], input = ARGV[5], signals = ARGV[6], startKind = ARGV[7], startValue = ARGV[8], parent = ARGV[9] })
  created = 1
end
local h, err = requireRun(ctx)
if err then return err end
-- A run of another workflow under this id takes no signal meant for this one: the caller refuses it.
if h.workflow ~= ARGV[3] then
  return { 0, 0, headerReply(ctx), false }
end
local delivered = deliverSignal(ctx, h, {
  name = ARGV[10], payload = ARGV[11], deliveryId = ARGV[12], keepMs = ARGV[13], bufferKey = KEYS[2], deliveriesKey = KEYS[3],
})
if delivered[1] ~= 0 then return delivered end
return { 0, created, headerReply(ctx), delivered }
