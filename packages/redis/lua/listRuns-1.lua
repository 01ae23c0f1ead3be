--[[
  A page of runs from one index, in list order (core's store/list-order.ts):
  by (score, id bytes), ascending for "oldest", descending for "newest", the
  score being createdAt (the creation indexes) or finishedAt (the finish
  indexes, for a query with a finish range). That is the index's own order,
  since members with one score sort by their bytes, walked forwards
  (ZRANGEBYSCORE) or backwards (ZREVRANGEBYSCORE). Every filter but the id
  prefix has an index of its own (status, workflow, workflow and status, all;
  finished status, finished status and workflow) and the range of the index's
  own time is a score range, so a page costs O(log n + page), whatever those filters.

  An id prefix, and a creation range on a finish index (ARGV[12], ARGV[13]),
  are filters on the walk: the script looks at no more than ARGV[10] members
  (0: no bound) and, when it stops there, answers where it stopped, so the next
  page goes on from there. A page can then hold fewer runs than asked, even none.

  A member whose header is gone (deleted by hand, evicted) is skipped, and its
  entries in the indexes this script can name are removed: the walked index,
  the index of all runs, the due index, every status index and, when the
  workflow is known, that workflow's indexes.

  Run keys are derived from the prefix (as BullMQ derives job keys): they
  share the namespace's hash tag, so they live in this script's slot.

  Input:
    KEYS[1] the index to walk: a status index, a workflow index, a
            workflow-and-status index or the index of all runs (sorted set,
            score createdAt); or a finish index, fin:<status> or
            wffin:<status>:<workflow> (sorted set, score finishedAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] "1" when a cursor is given, else "0"
    ARGV[3] cursor createdAt
    ARGV[4] cursor id: the page starts after (createdAt, id) in list order
    ARGV[5] page size
    ARGV[6] the workflow the index belongs to, or "" (to drop stale entries)
    ARGV[7] "oldest" or "newest"
    ARGV[8] lowest score to walk, in ZRANGEBYSCORE syntax ("-inf", "123", "(123")
    ARGV[9] highest score to walk, in the same syntax ("+inf", ...)
    ARGV[10] most members to look at (0: no bound)
    ARGV[11] id prefix, or "" for none
    ARGV[12] only runs created at or after this (ms), or "" for any
    ARGV[13] only runs created before this (ms), or "" for any

  Output:
    { 0, hasMore (1 or 0), stoppedAt, { id, headerFields }, ... }
    stoppedAt is { score, id } of the last member looked at when the walk
    stopped at its bound (the next page starts after it), else false.

  Errors: none.
]]
local prefix, limit, workflow = ARGV[1], tonumber(ARGV[5]), ARGV[6]
local hasCursor, cursorAt, cursorId = ARGV[2] == "1", tonumber(ARGV[3]), ARGV[4]
local newest, low, high, budget, idPrefix = ARGV[7] == "newest", ARGV[8], ARGV[9], tonumber(ARGV[10]), ARGV[11]
local createdFrom, createdUntil = tonumber(ARGV[12]), tonumber(ARGV[13])
local STATUSES = { "pending", "running", "parked", "paused", "completed", "failed", "cancelled" }
local FINISHED_STATUSES = { "completed", "failed", "cancelled" }

-- Byte order, as the sorted set orders members (Lua's < follows the server's locale).
local function bytesLess(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- True when (score, id) is listed after the cursor in this page's order.
local function pastCursor(score, id)
  if not hasCursor then return true end
  if newest then return score < cursorAt or (score == cursorAt and bytesLess(id, cursorId)) end
  return score > cursorAt or (score == cursorAt and bytesLess(cursorId, id))
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
  for _, status in ipairs(FINISHED_STATUSES) do
    redis.call("ZREM", prefix .. "fin:" .. status, id)
    if workflow ~= "" then redis.call("ZREM", prefix .. "wffin:" .. status .. ":" .. workflow, id) end
  end
end

-- Whether a member passes the walk's filters (id prefix, creation range): true or false, nil when its header is gone.
local function passes(id)
  if idPrefix ~= "" and string.sub(id, 1, #idPrefix) ~= idPrefix then return false end
  if not createdFrom and not createdUntil then return true end
  local createdAt = tonumber(redis.call("HGET", prefix .. "run:" .. id, "createdAt"))
  if createdAt == nil then return nil end
  return (not createdFrom or createdAt >= createdFrom) and (not createdUntil or createdAt < createdUntil)
end

local page, hasMore, stoppedAt, looked = {}, false, false, 0
if limit > 0 then
  -- A filtered walk reads large batches: a small one would re-skip the growing offset many times.
  local filtered = idPrefix ~= "" or createdFrom ~= nil or createdUntil ~= nil
  local batch, offset = filtered and 1000 or math.min(limit + 1, 1000), 0
  while not hasMore and not stoppedAt do
    local entries
    if newest then
      entries = redis.call("ZREVRANGEBYSCORE", KEYS[1], high, low, "WITHSCORES", "LIMIT", offset, batch)
    else
      entries = redis.call("ZRANGEBYSCORE", KEYS[1], low, high, "WITHSCORES", "LIMIT", offset, batch)
    end
    if #entries == 0 then break end
    local dropped = 0
    for i = 1, #entries, 2 do
      local id, score = entries[i], tonumber(entries[i + 1])
      if pastCursor(score, id) then
        looked = looked + 1
        local match = passes(id)
        if match == nil then
          dropStale(id)
          dropped = dropped + 1
        elseif match then
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
              page[#page + 1] = { id, header }
            end
          end
        end
        if budget > 0 and looked >= budget and not hasMore then
          stoppedAt = { entries[i + 1], id }
          break
        end
      end
    end
    -- Dropped members were before the next batch: it starts that many places earlier.
    offset = offset + batch - dropped
  end
end

local reply = { 0, hasMore and 1 or 0, stoppedAt }
for i = 1, #page do reply[#reply + 1] = page[i] end
return reply
