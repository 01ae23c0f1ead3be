--[[
  Reads a run: header (with its steps' attempts), input, result and (optionally) every
  committed output, with the store's clock, in one consistent read.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts)
    KEYS[2] run outputs         (hash, field per commit key, the input and result, the attempt records)

    ARGV[1] "1" to load outputs, "0" to skip them

  Output:
    { 0, "found", headerFields, outputFields (the outputs hash, records too; only the input and result when outputs are skipped), now }
    { 0, "absent" }

  Errors: none.
]]
-- @flags no-writes
-- @include "now"
-- @include "header"

if redis.call("EXISTS", KEYS[1]) == 0 then return { 0, "absent" } end
local outputs
if ARGV[1] == "1" then
  outputs = redis.call("HGETALL", KEYS[2])
else
  local data = redis.call("HMGET", KEYS[2], INPUT_FIELD, RESULT_FIELD)
  outputs = { INPUT_FIELD, data[1], RESULT_FIELD, data[2] }
end
return { 0, "found", redis.call("HGETALL", KEYS[1]), outputs, nowMs() }
