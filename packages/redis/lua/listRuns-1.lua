--[[
  A page of runs from one or more indexes, merged in list order (core's
  store/list-order.ts): by (score, id bytes), ascending for "oldest",
  descending for "newest", the score being createdAt (the creation indexes)
  or finishedAt (the finish indexes, for a query with a finish range). That is
  each index's own order, since members with one score sort by their bytes,
  walked forwards (ZRANGEBYSCORE) or backwards (ZREVRANGEBYSCORE); the walks
  are merged run by run. Each index holds the runs of one status, and the
  indexes given hold exactly the runs the status, workflow and finish filters
  select (no filter: the seven status indexes; a workflow: its seven; a status
  and a workflow: their one; a finish range: the finish index of each finished
  status asked for), and the range of the index's own time is a score range,
  so a page over k indexes costs O(k (log n + page)), whatever those filters.

  An id prefix, and a creation range on a finish index (ARGV[12], ARGV[13]),
  are filters on the walk: the script looks at no more than ARGV[10] members
  (0: no bound) and, when it stops there, answers where it stopped, so the next
  page goes on from there. A page can then hold fewer runs than asked, even none.

  A member whose header is gone (deleted by hand, evicted) is skipped, and its
  entries in the indexes this script can name are removed: the walked indexes,
  the due index, every status and finish index and, when the workflow is
  known, that workflow's. A member whose header names another status (or
  workflow) than its index is skipped and dropped from that index: a run
  started again under the id of a finished one whose entries the retention
  sweep has not trimmed yet. The run is listed from the index it is in now.

  Run keys are derived from the prefix (as BullMQ derives job keys): they
  share the namespace's hash tag, so they live in this script's slot.

  Input:
    KEYS[1..k] the indexes to walk, each the runs of one status: status:<status>
            or wfstatus:<status>:<workflow> (sorted sets, score createdAt), or
            fin:<status> or wffin:<status>:<workflow> (sorted sets, score finishedAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] "1" when a cursor is given, else "0"
    ARGV[3] cursor createdAt
    ARGV[4] cursor id: the page starts after (createdAt, id) in list order
    ARGV[5] page size
    ARGV[6] the workflow the indexes belong to, or ""
    ARGV[7] "oldest" or "newest"
    ARGV[8] lowest score to walk, in ZRANGEBYSCORE syntax ("-inf", "123", "(123")
    ARGV[9] highest score to walk, in the same syntax ("+inf", ...)
    ARGV[10] most members to look at (0: no bound)
    ARGV[11] id prefix, or "" for none
    ARGV[12] only runs created at or after this (ms), or "" for any
    ARGV[13] only runs created before this (ms), or "" for any
    ARGV[13 + i] the status KEYS[i] holds

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

local byte = string.byte

-- Byte order, as the sorted set orders members (Lua's < follows the server's locale).
local function bytesLess(a, b)
  local n = #a < #b and #a or #b
  for i = 1, n do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- True when (scoreA, idA) is listed before (scoreB, idB) in this page's order.
local function listedBefore(scoreA, idA, scoreB, idB)
  if scoreA ~= scoreB then return (scoreA < scoreB) ~= newest end
  if idA == idB then return false end
  return bytesLess(idA, idB) ~= newest
end

-- True when (score, id) is listed after the cursor in this page's order.
local function pastCursor(score, id)
  return not hasCursor or listedBefore(cursorAt, cursorId, score, id)
end

--[[
  One walk per index, reading it a batch at a time. `offset` is the rank, from
  the walk's start, of the next member to read; `read` holds every id read so
  far, so that removing one of them moves `offset` back a place (the members
  after it move up). The batch of members not yet looked at is `got` (id,
  score pairs, as ZRANGEBYSCORE answers) from index `at`.
]]
local filtered = idPrefix ~= "" or createdFrom ~= nil or createdUntil ~= nil
-- A filtered walk reads large batches: a small one would re-skip the growing offset many times.
-- Else a page is shared by the walks: each reads its share first, twice as much each time after.
local firstBatch = filtered and 1000 or math.min(math.max(2, math.ceil((limit + 1) / #KEYS)), 1000)
local walks = {}
for i = 1, #KEYS do
  walks[i] = { key = KEYS[i], status = ARGV[13 + i] or "", offset = 0, batch = firstBatch, got = {}, at = 1, read = {}, ended = false }
end

local function readBatch(w)
  local got
  if newest then
    got = redis.call("ZREVRANGEBYSCORE", w.key, high, low, "WITHSCORES", "LIMIT", w.offset, w.batch)
  else
    got = redis.call("ZRANGEBYSCORE", w.key, low, high, "WITHSCORES", "LIMIT", w.offset, w.batch)
  end
  w.got, w.at, w.offset, w.ended = got, 1, w.offset + #got / 2, #got < 2 * w.batch
  w.batch = math.min(w.batch * 2, 1000)
  for i = 1, #got, 2 do w.read[got[i]] = true end
end

-- Moves the walk to its next member past the cursor and not removed (w.id, w.score), or sets w.id to nil when it has none left.
local function advance(w)
  while true do
    local id = w.got[w.at]
    if id then
      local score = tonumber(w.got[w.at + 1])
      if w.read[id] and pastCursor(score, id) then
        w.id, w.score = id, score
        return
      end
      w.at = w.at + 2
    elseif w.ended then
      w.id = nil
      return
    else
      readBatch(w)
    end
  end
end

-- The walks with a member left, in the order of those members (heads[1]'s is listed next): built
-- again after a removal (which may move any walk); when heads[1] moves on, it moves down past the
-- walks whose members now come first (mostly one comparison).
local heads = {}
local function sortHeads()
  heads = {}
  for _, w in ipairs(walks) do
    advance(w)
    if w.id then
      local i = #heads + 1
      while i > 1 and listedBefore(w.score, w.id, heads[i - 1].score, heads[i - 1].id) do
        heads[i] = heads[i - 1]
        i = i - 1
      end
      heads[i] = w
    end
  end
end

local function stepFirst()
  local w = heads[1]
  w.at = w.at + 2
  advance(w)
  if not w.id then
    table.remove(heads, 1)
    return
  end
  local i = 1
  while heads[i + 1] and listedBefore(heads[i + 1].score, heads[i + 1].id, w.score, w.id) do
    heads[i] = heads[i + 1]
    i = i + 1
  end
  heads[i] = w
end

-- Removes `id` from walk w's index.
local function removeFrom(w, id)
  redis.call("ZREM", w.key, id)
  if w.read[id] then
    w.read[id] = nil
    w.offset = w.offset - 1
  end
end

local function dropStale(id)
  for _, w in ipairs(walks) do removeFrom(w, id) end
  redis.call("ZREM", prefix .. "due", id)
  for _, status in ipairs(STATUSES) do
    redis.call("ZREM", prefix .. "status:" .. status, id)
    if workflow ~= "" then redis.call("ZREM", prefix .. "wfstatus:" .. status .. ":" .. workflow, id) end
  end
  for _, status in ipairs(FINISHED_STATUSES) do
    redis.call("ZREM", prefix .. "fin:" .. status, id)
    if workflow ~= "" then redis.call("ZREM", prefix .. "wffin:" .. status .. ":" .. workflow, id) end
  end
end

-- Whether a run whose header records `status` and `workflow` (false where it records none) belongs in walk w's index.
local function belongs(w, status, runWorkflow)
  return (not status or w.status == "" or status == w.status) and (not runWorkflow or workflow == "" or runWorkflow == workflow)
end

-- A field of a header read with HGETALL, or false.
local function field(header, name)
  for i = 1, #header, 2 do
    if header[i] == name then return header[i + 1] end
  end
  return false
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
if limit > 0 then sortHeads() end
while heads[1] and not hasMore and not stoppedAt do
  local walk = heads[1]
  local id, scoreText = walk.id, walk.got[walk.at + 1]
  looked = looked + 1
  local runKey = prefix .. "run:" .. id
  local match = passes(id)
  if match == nil then
    dropStale(id)
  elseif match and #page == limit then
    -- One run past the page says whether there is more; its header is not read whole.
    if redis.call("EXISTS", runKey) == 0 then
      dropStale(id)
    elseif belongs(walk, unpack(redis.call("HMGET", runKey, "status", "workflow"))) then
      hasMore = true
    else
      removeFrom(walk, id)
    end
  elseif match then
    local header = redis.call("HGETALL", runKey)
    if #header == 0 then
      dropStale(id)
    elseif belongs(walk, field(header, "status"), field(header, "workflow")) then
      page[#page + 1] = { id, header }
    else
      removeFrom(walk, id)
    end
  end
  if budget > 0 and looked >= budget and not hasMore then stoppedAt = { scoreText, id } end
  if not hasMore and not stoppedAt then
    -- A removal may have moved any walk (the id may be in several): they are sorted again.
    if walk.read[id] then
      stepFirst()
    else
      sortHeads()
    end
  end
end

local reply = { 0, hasMore and 1 or 0, stoppedAt }
for i = 1, #page do reply[#reply + 1] = page[i] end
return reply
