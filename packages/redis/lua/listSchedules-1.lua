--[[
  A page of schedules in id order (byte order), after a cursor.

  Input:
    KEYS[1] index of schedules  (sorted set, score 0, by id)

    ARGV[1] key prefix "{ns}:" (schedule hashes are "<prefix>sched:<id>")
    ARGV[2] the last id of the previous page, or "" to start
    ARGV[3] most schedules to return

  Output:
    { 0, more (1 or 0), now, { id, fields }... }

  Errors: none.
]]
-- @flags no-writes
-- @include "now"

local from = ARGV[2] == "" and "-" or "(" .. ARGV[2]
local limit = tonumber(ARGV[3])
local ids = redis.call("ZRANGEBYLEX", KEYS[1], from, "+", "LIMIT", 0, limit + 1)
local reply = { 0, #ids > limit and 1 or 0, nowMs() }
for i = 1, math.min(#ids, limit) do
  reply[#reply + 1] = { ids[i], redis.call("HGETALL", ARGV[1] .. "sched:" .. ids[i]) }
end
return reply
