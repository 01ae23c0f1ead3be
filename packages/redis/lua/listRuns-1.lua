--[[
  A page of runs from one index, ordered by (createdAt, id): the index's own
  order, since members with one score sort by their bytes. Every filter has an
  index of its own (status, workflow, workflow and status, all), so the page
  costs O(log n + page), whatever the filters.

  A member whose header is gone (deleted by hand, evicted) is skipped, and its
  entries in the indexes this script can name are removed: the walked index,
  the index of all runs, the due index, every status index and, when the
  workflow is known, that workflow's indexes.

  Run keys are derived from the prefix (as BullMQ derives job keys): they
  share the namespace's hash tag, so they live in this script's slot.

  Input:
    KEYS[1] the index to walk: a status index, a workflow index, a
            workflow-and-status index or the index of all runs (sorted set,
            score createdAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] "1" when a cursor is given, else "0"
    ARGV[3] cursor createdAt
    ARGV[4] cursor id: the page starts after (createdAt, id)
    ARGV[5] page size
    ARGV[6] the workflow the index belongs to, or "" (to drop stale entries)

  Output:
    { 0, hasMore (1 or 0), { id, headerFields, attemptsFields }, ... }

  Errors: none.
]]
local prefix, limit, workflow = ARGV[1], tonumber(ARGV[5]), ARGV[6]
local hasCursor, cursorAt, cursorId = ARGV[2] == "1", tonumber(ARGV[3]), ARGV[4]
local STATUSES = { "pending", "running", "parked", "paused", "completed", "failed", "cancelled" }

-- Byte order, as the sorted set orders members (Lua's < follows the server's locale).
local function bytesLess(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function dropStale(id)
  redis.call("ZREM", KEYS[1], id)
  redis.call("ZREM", prefix .. "all", id)
  redis.call("ZREM", prefix .. "due", id)
  for _, status in ipairs(STATUSES) do
    redis.call("ZREM", prefix .. "status:" .. status, id)
    if workflow ~= "" then redis.call("ZREM", prefix .. "wfstatus:" .. status .. ":" .. workflow, id) end
  end
  if workflow ~= "" then redis.call("ZREM", prefix .. "wf:" .. workflow, id) end
end

local page, hasMore = {}, false
if limit > 0 then
  local min = hasCursor and ARGV[3] or "-inf"
  local batch, offset = math.min(limit + 1, 1000), 0
  while not hasMore do
    local entries = redis.call("ZRANGEBYSCORE", KEYS[1], min, "+inf", "WITHSCORES", "LIMIT", offset, batch)
    if #entries == 0 then break end
    local dropped = 0
    for i = 1, #entries, 2 do
      local id, score = entries[i], tonumber(entries[i + 1])
      if not hasCursor or score > cursorAt or (score == cursorAt and bytesLess(cursorId, id)) then
        if #page == limit then
          -- One run past the page says whether there is more; its header is not read.
          if redis.call("EXISTS", prefix .. "run:" .. id) == 1 then
            hasMore = true
            break
          end
          dropStale(id)
          dropped = dropped + 1
        else
          local header = redis.call("HGETALL", prefix .. "run:" .. id)
          if #header == 0 then
            dropStale(id)
            dropped = dropped + 1
          else
            page[#page + 1] = { id, header, redis.call("HGETALL", prefix .. "att:" .. id) }
          end
        end
      end
    end
    -- Dropped members were before the next batch: it starts that many places earlier.
    offset = offset + batch - dropped
  end
end

local reply = { 0, hasMore and 1 or 0 }
for i = 1, #page do reply[#reply + 1] = page[i] end
return reply
