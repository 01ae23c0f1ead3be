--[[
  Hands a run to a worker: a "pending" run, a "parked" run with something due,
  or a "running" run whose lease expired becomes "running" under a fresh lease
  and a new version (fencing any previous holder): the handover's version (see
  handoverVersion), which no earlier holder had, even after a rollback. A cancel or pause requested
  of a run whose worker died is applied here, at the boundary it was waiting for;
  a cancel answers the header it left, so the caller cancels the run's children
  and tells its parent (its retention may end before the caller could read it).
  A run handed over loses the error a block left on it.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] lease in ms

  Output:
    { 0, "acquired", headerFields, outputFields (the outputs hash: input, result and records too), now }
    { 0, "finished" | "paused" }
    { 0, "cancelled", headerFields }   a requested cancel applied now
    { 0, "busy" | "not-due", dueAt or nil, now }   busy: leased until dueAt; not-due: parked, the wake came early

  Errors: -1 unknown instance, -4 corrupt header.
]]
-- @include "now"
-- @include "header"

local now, nowUs = nowMsUs()
local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3], now = now }
local h, err = requireRun(ctx, WHOLE_HEADER)
if err then return err end

local dueAt = tonumber(h.dueAt)
if FINISHED[h.status] then return { 0, "finished" } end
if h.status == "paused" then return { 0, "paused" } end
if h.status == "running" and dueAt ~= nil and dueAt > now then return { 0, "busy", dueAt, now } end
if h.requested == "cancel" then
  writeHeader(ctx, h, { status = "cancelled", waits = "[]", dueAt = "", requested = "" })
  return { 0, "cancelled", wholeHeaderReply(h) }
end
if h.requested == "pause" then
  writeHeader(ctx, h, { status = "paused", dueAt = "", requested = "" })
  return { 0, "paused" }
end
if h.status == "parked" and (dueAt == nil or dueAt > now) then return { 0, "not-due", dueAt or false, now } end

-- A run whose worker's lease lapsed is taken over; one that was parked woke (its status change says so).
local event = h.status == "running" and { type = "recovered" } or nil
local changes = { status = "running", dueAt = num(now + tonumber(ARGV[3])), requested = "", error = "", version = handoverVersion(ctx, nowUs) }
writeHeader(ctx, h, changes, event)
return { 0, "acquired", wholeHeaderReply(h), redis.call("HGETALL", KEYS[2]), now }
