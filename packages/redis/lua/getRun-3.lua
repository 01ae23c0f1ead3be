--[[
  Reads a run: header (with its steps' attempts), input, result and (optionally) every
  committed output, with the store's clock, in one consistent read.

  Input:
    KEYS[1] run header          (hash, with the steps' attempts and records)
    KEYS[2] run outputs         (hash, field per commit key)
    KEYS[3] run input/result    (hash)

    ARGV[1] "1" to load outputs, "0" to skip them

  Output:
    { 0, "found", headerFields, input, result or nil, outputFields, now }
    { 0, "absent" }

  Errors: none.
]]
-- @include "now"

if redis.call("EXISTS", KEYS[1]) == 0 then return { 0, "absent" } end
local data = redis.call("HMGET", KEYS[3], "input", "result")
local outputs = {}
if ARGV[1] == "1" then outputs = redis.call("HGETALL", KEYS[2]) end
return { 0, "found", redis.call("HGETALL", KEYS[1]), data[1], data[2], outputs, nowMs() }
