--[[
  Fixes a namespace's partition count and key layout the first time the
  namespace is used, and answers what they were fixed at. Every store and
  worker runs this before its first operation and refuses to go on when the
  answer differs from its own configuration.

  A namespace written before the meta key existed has its runs in the
  one-partition layout: when it has runs (its index of all runs exists), its
  count is 1, whatever this caller asks, and its key layout is not recorded
  (it is the first one: the caller looks for runs before it records its own).
  A namespace that recorded its count before layouts were recorded has no layout
  either, for the same reason.

  Input:
    KEYS[1] the namespace's meta key "{ns}:meta" (hash: "partitions", "layout")
    KEYS[2] the index of all runs of the one-partition layout "{ns}:all"

    ARGV[1] the partition count this caller is configured with
    ARGV[2] the key layout this caller writes (keys.ts KEY_LAYOUT)

  Output:
    { 0, partitions, layout or nil }   as stored (the caller checks them)

  Errors: none.
]]
local recorded = redis.call("HMGET", KEYS[1], "partitions", "layout")
if recorded[1] then return { 0, recorded[1], recorded[2] } end
local partitions = ARGV[1]
if redis.call("EXISTS", KEYS[2]) == 1 then
  if partitions ~= "1" then partitions = "1" end
  redis.call("HSET", KEYS[1], "partitions", partitions)
  return { 0, partitions, false }
end
redis.call("HSET", KEYS[1], "partitions", partitions, "layout", ARGV[2])
return { 0, partitions, ARGV[2] }
