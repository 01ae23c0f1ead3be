--[[
  Parks the run on its waits, unless a signal one of them waits for is
  already buffered ("signalled": the caller goes on). Checking the buffers in
  the same atomic step means a signal sent while a worker decides to wait is
  never lost. A wait whose key already has a deadline keeps it. A requested
  cancel or pause applies here instead of parking. A delay, signal or child
  wait opens its step's attempt record the first time it parks.

  Input:
    KEYS[1]   run header        (hash, with the steps' attempts and records)
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

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h, err = expectVersion(ctx, ARGV[3])
if err then return err end
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
local attempts = {}
for key, count in pairs(cjson.decode(ARGV[5])) do
  attempts[#attempts + 1] = ATTEMPTS_PREFIX .. key
  attempts[#attempts + 1] = num(count)
end
if #attempts > 0 then redis.call("HSET", ctx.headerKey, unpack(attempts)) end

if h.requested == "cancel" then
  return { 1, "cancelled", writeHeader(ctx, h, { status = "cancelled", waits = "[]", dueAt = "", requested = "" }) }
end
local dueAt = earliestDeadline(waits)
openWaitRecords(ctx, waits)
if h.requested == "pause" then
  return { 1, "paused", writeHeader(ctx, h, { status = "paused", waits = encodeWaits(waits), dueAt = "", requested = "" }) }
end
local version = writeHeader(ctx, h, { status = "parked", waits = encodeWaits(waits), dueAt = dueAt and num(dueAt) or "" })
return { 0, "parked", version, dueAt or false }
