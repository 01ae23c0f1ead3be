--[[
  Parks the run on its waits, unless a signal one of them waits for is
  already buffered ("signalled": the caller goes on). Checking the buffers in
  the same atomic step means a signal sent while a worker decides to wait is
  never lost. A wait whose key already has a deadline keeps it. A requested
  cancel or pause applies here instead of parking. A delay, signal or child
  wait opens its step's attempt record the first time it parks.

  Input:
    KEYS[1]   run header        (hash, with the steps' attempts)
    KEYS[2]   due index         (sorted set, score dueAt)
    KEYS[3..] the signal buffer (list) of every signal wait requested

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] wait requests, JSON: [{kind:"timer",key,reason,delayMs} | {kind:"signal",key,signal,timeoutMs|null}]
    ARGV[5] attempts to record, JSON object { [commitKey]: count }
    ARGV[6] attempts that failed since the run's last write, JSON (see includes/attempts.lua), or ""

  Output:
    { 0, "parked", version, dueAt or nil }
    { 0, "signalled", version }
    { 1, "cancelled"|"paused", version }

  Errors: -1 unknown instance, -2 stale version, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "attempts"

-- What a park reads of the header: what it checks, and what moving the run's status indexes needs.
-- A requested stop reads the whole header, as the stop's write may need more.
local PARK_FIELDS = { "status", "version", "waits", "requested", "workflow", "createdAt", "dueAt" }

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h, err = expectVersion(ctx, ARGV[3], PARK_FIELDS)
if err then return err end
if h.requested then h = loadHeader(KEYS[1]) end
ctx.now = nowMs()
recordFailures(ctx, ARGV[6])
for i = 3, #KEYS do
  if redis.call("LLEN", KEYS[i]) > 0 then return { 0, "signalled", tonumber(h.version) } end
end

local previous, werr = decodeWaits(h)
if werr then return werr end
local waits = {}
for _, request in ipairs(cjson.decode(ARGV[4])) do
  waits[#waits + 1] = resolveWait(request, previous, ctx.now)
end
-- The attempts go out with the status in writeHeader's HSET (see setField in header.lua).
ctx.staged = {}
for key, count in pairs(cjson.decode(ARGV[5])) do setField(ctx, ctx.headerKey, ATTEMPTS_PREFIX .. key, num(count)) end

if h.requested == "cancel" then
  return { 1, "cancelled", writeHeader(ctx, h, { status = "cancelled", waits = "[]", dueAt = "", requested = "" }) }
end
local dueAt = earliestDeadline(waits)
openWaitRecords(ctx, waits)
if h.requested == "pause" then
  return { 1, "paused", writeHeader(ctx, h, { status = "paused", waits = encodeWaits(waits), dueAt = "", requested = "" }) }
end
-- Its event carries the waits as the header stores them, written as text (statusEvent would decode them again).
local stored = encodeWaits(waits)
local event = '{"type":"parked","waits":' .. stored .. ',"at":' .. nowText(ctx) .. "}"
local version = writeHeader(ctx, h, { status = "parked", waits = stored, dueAt = dueAt and num(dueAt) or "" }, event)
return { 0, "parked", version, dueAt or false }
