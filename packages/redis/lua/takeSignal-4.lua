--[[
  Takes the first buffered signal as the output of a step, in one write. With
  none buffered and the step's recorded timeoutAt passed, the timeout wins: a
  fallback (when given) is committed as the output. Exactly one of them wins;
  a signal that loses stays buffered.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)
    KEYS[4] signal buffer of (run, signal name) (list, oldest first)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] commit key of the waiting step
    ARGV[5] "1" when a fallback is given, else "0"
    ARGV[6] fallback output (encoded bytes; ignored without ARGV[5])
    ARGV[7] lease in ms

  Output:
    { 0, "signal", version, payload }
    { 0, "timeout", version, committed (1 or 0) }
    { 0, "none" }
    { 1, "cancelled"|"paused", version }

  Errors: -1 unknown instance, -2 stale version, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "boundary"
-- @include "attempts"

-- What taking a signal reads of the header; a requested stop reads the whole header, as the stop's write may need more.
-- (Not dueAt: taking a signal writes it, and a stop, which empties it, reads the whole header.)
local TAKE_FIELDS = { "status", "version", "requested", "waits" }

local key = ARGV[4]
local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
local h, err = expectVersion(ctx, ARGV[3], TAKE_FIELDS)
if err then return err end
if h.requested then h = loadHeader(KEYS[1]) end
ctx.now = nowMs()
local lease = num(ctx.now + tonumber(ARGV[7]))

-- Commits `output` as the step's output, as a commit does: what it writes to the header, and to the
-- outputs hash (the output and its attempt records), goes out in one HSET each (see setField in header.lua).
local function commitOutput(output)
  ctx.staged = {}
  setField(ctx, KEYS[2], key, output)
  -- Attempt 1, and the version this commit makes: the commit order (see header.lua).
  setField(ctx, KEYS[1], ATTEMPTS_PREFIX .. key, "1 " .. num(ctx.version + 1))
  endAttemptRecord(ctx, key, 1, ctx.now, nil)
  recordCommit(ctx, key, "1")
  return writeHeader(ctx, h, { lastCommit = key, dueAt = lease })
end

local payload = redis.call("LINDEX", KEYS[4], 0)
if payload then
  local stopped = stopAtBoundary(ctx, h, nil)
  if stopped then return stopped end
  redis.call("LPOP", KEYS[4])
  return { 0, "signal", commitOutput(payload), payload }
end

local waits, werr = decodeWaits(h)
if werr then return werr end
local wait = nil
for _, w in ipairs(waits) do
  if w.key == key and w.kind == "signal" then
    wait = w
    break
  end
end
if wait == nil or type(wait.timeoutAt) ~= "number" or wait.timeoutAt > ctx.now then return { 0, "none" } end
if ARGV[5] ~= "1" then return { 0, "timeout", tonumber(h.version), 0 } end
local stopped = stopAtBoundary(ctx, h, nil)
if stopped then return stopped end
return { 0, "timeout", commitOutput(ARGV[6]), 1 }
