--[[
  Rewinds a run to a committed step: drops the output (and attempts) of that
  step and of every step depending on it, the run's result, and the waits of
  the dropped steps; the run is then due now and goes on from there. Works in
  any status; the new version fences a worker still holding the run, so its
  next write is refused.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] the commit key rewound to (must have an output)
    ARGV[4] refs of the steps to drop, JSON array
    ARGV[5] refs of the loops to drop (every iteration), JSON array

  Output:
    { 0, status, version }

  Errors: -1 unknown instance, -4 corrupt header, -6 unknown step (no output under ARGV[3]).
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "lifecycle"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
local h, err = requireRun(ctx)
if err then return err end
if not isOutputField(ARGV[3]) or redis.call("HEXISTS", KEYS[2], ARGV[3]) == 0 then return { -6, ARGV[3] } end
local dropped = stepKeySet(ARGV[4], ARGV[5])
local waits, werr = keptWaits(h, function(key) return not dropped(key) end)
if werr then return werr end
ctx.now = nowMs()
for _, key in ipairs(redis.call("HKEYS", KEYS[2])) do
  if isOutputField(key) and dropped(key) then redis.call("HDEL", KEYS[2], key) end
end
local droppedSteps = {}
for _, key in ipairs(stepKeys(ctx)) do
  if dropped(key) then droppedSteps[#droppedSteps + 1] = key end
end
dropStepFields(ctx, droppedSteps)
redis.call("HDEL", KEYS[2], RESULT_FIELD)
local version = sendOn(ctx, h, waits, { lastCommit = "" }, { type = "rewound", to = ARGV[3] })
return { 0, h.status, version }
