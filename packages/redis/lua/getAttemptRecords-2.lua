--[[
  Reads a run's attempt records (includes/attempts.lua): the outputs hash's record fields, and
  those a run an earlier key layout wrote kept in a hash of their own, where the outputs hash has
  none for the step (see oldTriesKey in header.lua). The outputs themselves stay in Redis.

  Input:
    KEYS[1] run outputs         (hash, field per commit key, the input and result, the attempt records)
    KEYS[2] the run's old attempt records (hash, field per commit key; key layouts 2 and 3)

  Output:
    { 0, records }   records: commit key and JSON text pairs, flat

  Errors: none.
]]
-- @flags no-writes
-- @include "header"

local records, seen = {}, {}
local flat, n = redis.call("HGETALL", KEYS[1]), #RECORDS_PREFIX
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, n) == RECORDS_PREFIX then
    local key = string.sub(flat[i], n + 1)
    seen[key] = true
    records[#records + 1] = key
    records[#records + 1] = flat[i + 1]
  end
end
local old = redis.call("HGETALL", KEYS[2])
for i = 1, #old, 2 do
  if not seen[old[i]] then
    records[#records + 1] = old[i]
    records[#records + 1] = old[i + 1]
  end
end
return { 0, records }
