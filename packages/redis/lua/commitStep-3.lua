--[[
  Commits a step's output and advances the run in one write (compare-and-set
  on the version), renewing the lease. Writes only the new output, its attempt
  count and record, its event and a few header fields, so a commit costs the
  same at step 1 and at step 1000. With a pause requested the output is kept and the run pauses;
  with a cancel requested the output is dropped and the run is cancelled.
  Re-sending the last commit (its reply was lost) answers "already".
  A committed output may carry the run on in the same write (ARGV[9]): the next step's first
  attempt starts (as startAttempt-2.lua records it; this write renews the lease), or the run
  completes with its result (as finishRun-3.lua ends it), so neither costs a call of its own.

  A loop keeps only its last iterations: a commit in iteration n drops the outputs, attempts and
  attempt records of the iterations it replaces (the worker names them, see core's
  `replacedKeys`, ARGV[12..]), so a loop of 10,000 iterations costs what a loop of 2 does.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] version the caller holds
    ARGV[4] commit key
    ARGV[5] output (encoded bytes)
    ARGV[6] attempts spent on the step
    ARGV[7] lease in ms
    ARGV[8] attempts that failed since the run's last write, JSON (see includes/attempts.lua), or ""
    ARGV[9] then: "" (nothing), "attempt" or "complete"
    ARGV[10] with "attempt", the commit key of the step whose attempt starts; with "complete", the result (encoded bytes)
    ARGV[11] with "attempt", the attempt that starts (1-based); else ""
    ARGV[12..] commit keys this output replaces (a loop's earlier iterations), dropped in the same write

  Output:
    { 0, "committed", version }
    { 0, "already", version }      the same commit was applied before
    { 1, "cancelled"|"paused", version }

  Errors: -1 unknown instance, -2 stale version, -4 corrupt header.
]]
-- @include "now"
-- @include "header"
-- @include "boundary"
-- @include "attempts"

-- (Not dueAt: the commit writes it, and the stops that empty it read the whole header.)
local COMMIT_FIELDS = { "status", "version", "lastCommit", "requested" }
-- A completion also reads what finishing needs: the indexes' workflow and score, and whether the
-- fields it empties (dueAt, error) are there to delete.
local COMPLETE_FIELDS = { "status", "version", "lastCommit", "requested", "workflow", "createdAt", "dueAt", "error" }
local key, output, attempts = ARGV[4], ARGV[5], ARGV[6]
local thenKind = ARGV[9]
local replaced = { unpack(ARGV, 12) }
-- What the commit writes to the header, and to the outputs hash (the output, its attempt records,
-- the result), goes out in one HSET each (see setField in header.lua).
local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
-- A commit reads only the fields it checks and writes (status and version always exist); one that
-- finds a stop requested, the full header, as the stop's write may need more.
local complete = thenKind == "complete"
local h, err = requireRun(ctx, complete and COMPLETE_FIELDS or COMMIT_FIELDS)
if err then return err end
if h.requested then h = loadHeader(KEYS[1]) end
local current = ctx.version
if h.lastCommit == key and current == tonumber(ARGV[3]) + 1 and redis.call("HEXISTS", KEYS[2], key) == 1 then
  return { 0, "already", current }
end
if not atVersion(ctx, h, ARGV[3]) then return { -2, current } end

ctx.now = nowMs()
ctx.staged = {}
recordFailures(ctx, ARGV[8])
-- The attempt ended, whether its output is kept or a cancel drops it.
endAttemptRecord(ctx, key, tonumber(attempts), ctx.now, nil)
-- The step's attempts carry the version its commit makes: the commit order (see header.lua).
-- A completion's result goes in the same HSET as the output (a stop at the boundary writes none).
local nextVersion = current + 1
local function keep(nextAttempt, result)
  setField(ctx, KEYS[2], key, output)
  if result then setField(ctx, KEYS[2], RESULT_FIELD, result) end
  setField(ctx, KEYS[1], ATTEMPTS_PREFIX .. key, attempts .. " " .. num(nextVersion))
  if nextAttempt then setField(ctx, KEYS[1], ATTEMPTS_PREFIX .. ARGV[10], ARGV[11]) end
  if #replaced > 0 then
    dropStepFields(ctx, replaced, true)
    -- A failed attempt of a replaced step that this commit carries was staged first: it goes too.
    for _, r in ipairs(replaced) do ctx.staged[KEYS[2]][RECORDS_PREFIX .. r] = nil end
  end
  recordCommit(ctx, key, attempts)
end
local stopped = stopAtBoundary(ctx, h, keep)
if stopped then return stopped end

keep(thenKind == "attempt", complete and ARGV[10] or nil)
local changes
if complete then
  changes = { lastCommit = key, status = "completed", waits = "[]", dueAt = "", requested = "", error = "" }
else
  changes = { lastCommit = key, dueAt = num(ctx.now + tonumber(ARGV[7])) }
  if thenKind == "attempt" then startAttemptRecord(ctx, ARGV[10], tonumber(ARGV[11])) end
end
changes.version = nextVersion
return { 0, "committed", writeHeader(ctx, h, changes) }
