--[[
  Fixes a namespace's partition count the first time the namespace is used,
  and answers the count it was fixed at. Every store and worker runs this
  before its first operation and refuses to go on when the answer differs
  from its own configuration.

  A namespace written before the meta key existed has its runs in the
  one-partition layout: when it has runs (its index of all runs exists), its
  count is 1, whatever this caller asks.

  Input:
    KEYS[1] the namespace's meta key "{ns}:meta" (hash, field "partitions")
    KEYS[2] the index of all runs of the one-partition layout "{ns}:all"

    ARGV[1] the partition count this caller is configured with

  Output:
    { 0, partitions }   the count recorded (as stored: the caller checks it)

  Errors: none.
]]
local recorded = redis.call("HGET", KEYS[1], "partitions")
if recorded then return { 0, recorded } end
local partitions = ARGV[1]
if partitions ~= "1" and redis.call("EXISTS", KEYS[2]) == 1 then partitions = "1" end
redis.call("HSET", KEYS[1], "partitions", partitions)
return { 0, partitions }
