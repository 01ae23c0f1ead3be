--[[
  Buffers a signal (first in, first out per name), and records its name in
  the run's set of buffered names so the buffer goes when the run finishes. When the run is parked
  waiting for it, the run becomes due now ("woke"); otherwise it waits in the
  buffer until a step takes it.

  A delivery id seen before for this run buffers nothing again: the call
  answers as the first one did. So a call sent twice (a connection that
  resends a command whose reply it lost, a caller that retries with the same
  id) delivers once. Delivery ids are remembered for ARGV[6] ms.

  Input:
    KEYS[1] run header          (hash)
    KEYS[2] signal buffer of (run, signal name) (list, oldest first)
    KEYS[3] due index           (sorted set, score dueAt)
    KEYS[4] delivery ids of the run (hash: delivery id -> "woke" | "buffered")

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] signal name
    ARGV[4] payload (encoded bytes)
    ARGV[5] delivery id ("" for none)
    ARGV[6] how long delivery ids are remembered, in ms

  Output:
    { 0, "woke", dueAt, version, duplicate }
    { 0, "buffered", dueAt or nil, version, duplicate }   the run's version after the call;
                                                         duplicate is 1 when the delivery id was seen before

  Errors: -1 unknown instance, -3 run finished, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "deliver"

-- What a signal reads of the header: a delivery changes no status (deliver.lua).
local SIGNAL_FIELDS = { "status", "version", "waits", "dueAt" }

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
local h, err = requireRun(ctx, SIGNAL_FIELDS)
if err then return err end
return deliverSignal(ctx, h, {
  name = ARGV[3], payload = ARGV[4], deliveryId = ARGV[5], keepMs = ARGV[6], bufferKey = KEYS[2], deliveriesKey = KEYS[4],
})
