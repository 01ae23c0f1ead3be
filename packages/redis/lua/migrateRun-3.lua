--[[
  Moves a run to another definition (hash) of its workflow, checked: after
  the renames, every committed key must be a step of the new definition,
  else nothing changes. A renamed key takes its output and attempts along.
  A live run that is not paused is then due now (a blocked run goes on at
  once, its error cleared); a finished run stays finished (retry it). The new
  version fences a worker still holding the run.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[3] due index           (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] the new definition's hash
    ARGV[4] refs of the new definition's steps, JSON array
    ARGV[5] refs of the new definition's loops, JSON array
    ARGV[6] renames, JSON object { oldKey: newKey } (may be {})
    ARGV[7] the signal names the new definition waits for (JSON array, or "null" when not known)

  Output:
    { 0, status, version }

  Errors: -1 unknown instance, -4 corrupt header, -6 unknown step (a rename of a key
  without an output), -7 incompatible (a committed key the new definition lacks).
]]
-- @include "now"
-- @include "header"
-- @include "waits"
-- @include "lifecycle"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[3] }
local h, err = requireRun(ctx)
if err then return err end
local allowed = stepKeySet(ARGV[4], ARGV[5])
local rename = cjson.decode(ARGV[6])
for old, _ in pairs(rename) do
  if not isOutputField(old) or redis.call("HEXISTS", KEYS[2], old) == 0 then return { -6, old } end
end
for _, key in ipairs(redis.call("HKEYS", KEYS[2])) do
  if isOutputField(key) and not allowed(rename[key] or key) then return { -7, key } end
end
local waits, werr = keptWaits(h, allowed, rename)
if werr then return werr end

-- Read every renamed value first, so renames that swap two keys do not overwrite each other.
local moved = {}
for old, new in pairs(rename) do
  local attempts = redis.call("HGET", KEYS[1], ATTEMPTS_PREFIX .. old)
  moved[#moved + 1] = { new, redis.call("HGET", KEYS[2], old), attempts, recordsText(ctx, old) }
  dropStepFields(ctx, { old }, true)
end
for _, m in ipairs(moved) do
  if m[4] then
    redis.call("HSET", KEYS[2], m[1], m[2], RECORDS_PREFIX .. m[1], m[4])
  else
    redis.call("HSET", KEYS[2], m[1], m[2])
  end
  if m[3] then redis.call("HSET", KEYS[1], ATTEMPTS_PREFIX .. m[1], m[3]) end
end
ctx.now = nowMs()
local version
local event = { type = "migrated", hash = ARGV[3] }
if FINISHED[h.status] then
  version = writeHeader(ctx, h, { hash = ARGV[3], waits = encodeWaits(waits), lastCommit = "", signals = ARGV[7] }, event)
else
  version = sendOn(ctx, h, waits, { hash = ARGV[3], lastCommit = "", signals = ARGV[7] }, event)
end
return { 0, h.status, version }
