--[[
  A page of runs from one index, ordered by (createdAt, id): the index's own
  order, since members with one score sort by their bytes. Walks the index
  from the cursor in batches, skipping runs of other workflows when asked.

  Run keys are derived from the prefix (as BullMQ derives job keys): they
  share the namespace's hash tag, so they live in this script's slot.

  Input:
    KEYS[1] the index to walk: a status index, a workflow index or the index
            of all runs (sorted set, score createdAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] "1" to keep only runs of workflow ARGV[3], else "0"
    ARGV[3] workflow name
    ARGV[4] "1" when a cursor is given, else "0"
    ARGV[5] cursor createdAt
    ARGV[6] cursor id: the page starts after (createdAt, id)
    ARGV[7] page size

  Output:
    { 0, hasMore (1 or 0), { headerFields, attemptsFields }, ... }

  Errors: none.
]]
local prefix, limit = ARGV[1], tonumber(ARGV[7])
local byWorkflow, workflow = ARGV[2] == "1", ARGV[3]
local hasCursor, cursorAt, cursorId = ARGV[4] == "1", tonumber(ARGV[5]), ARGV[6]

-- Byte order, as the sorted set orders members (Lua's < follows the server's locale).
local function bytesLess(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local found = {}
if limit > 0 then
  local min = hasCursor and ARGV[5] or "-inf"
  local batch, offset = math.min(math.max(limit + 1, 50), 1000), 0
  while #found <= limit do
    local entries = redis.call("ZRANGEBYSCORE", KEYS[1], min, "+inf", "WITHSCORES", "LIMIT", offset, batch)
    if #entries == 0 then break end
    for i = 1, #entries, 2 do
      local id, score = entries[i], tonumber(entries[i + 1])
      local after = not hasCursor or score > cursorAt or (score == cursorAt and bytesLess(cursorId, id))
      if after and (not byWorkflow or redis.call("HGET", prefix .. "run:" .. id, "workflow") == workflow) then
        found[#found + 1] = id
        if #found > limit then break end
      end
    end
    offset = offset + batch
  end
end

local reply = { 0, #found > limit and 1 or 0 }
for i = 1, math.min(#found, limit) do
  local id = found[i]
  reply[#reply + 1] = { redis.call("HGETALL", prefix .. "run:" .. id), redis.call("HGETALL", prefix .. "att:" .. id) }
end
return reply
