--[[
  Sends a failed or cancelled run back to work: due now, from the step that
  failed or was interrupted. Committed steps keep their outputs and are not
  run again; the attempts of every step without an output are reset. The
  run's keys lose their TTL, and the new version fences any old holder.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id

  Output:
    { 0, status, version }

  Errors: -1 unknown instance, -4 corrupt header, -5 wrong status (not failed or cancelled).
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "lifecycle"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
local h, err = requireRun(ctx)
if err then return err end
if h.status ~= "failed" and h.status ~= "cancelled" then return { -5, h.status } end
ctx.now = nowMs()
-- The attempts (and their records) of every step without an output start over.
local unfinished = {}
for _, key in ipairs(stepKeys(ctx)) do
  if redis.call("HEXISTS", KEYS[2], key) == 0 then unfinished[#unfinished + 1] = key end
end
dropStepFields(ctx, unfinished)
local version = sendOn(ctx, h, {}, { lastCommit = "" }, { type = "retried" })
return { 0, h.status, version }
