--[[
  Removes a schedule and its index entries. Runs it started are not touched.

  Input:
    KEYS[1] schedule            (hash)
    KEYS[2] schedules' due index (sorted set)
    KEYS[3] index of schedules  (sorted set)

    ARGV[1] schedule id

  Output:
    { 0, removed (1 or 0) }

  Errors: none.
]]
local removed = redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
return { 0, removed }
