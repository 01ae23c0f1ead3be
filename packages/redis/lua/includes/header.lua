--[[
  The run header: a hash of plain fields (workflow, hash, status, version,
  waits (compact JSON, see waits.lua), error (JSON or ""), requested ("", "cancel", "pause"),
  dueAt ("" for none), createdAt, updatedAt, finishedAt ("" or absent while live), lastCommit,
  signals, startAt, parent, children), and a field per step, named by a prefix and the step's
  commit key: "a:<key>" its attempts, followed by " <version>" once it committed (the version
  its commit made: the commit order a failed run's compensations walk). A plain field's name has
  no ":", so no commit key can name one. Keeping the attempts in the header, not in a hash of their
  own, saves Redis a key and its overhead (about 100 bytes) on every run. The records of a step's
  attempts are in the outputs hash (RECORDS_PREFIX). A plain field that would be empty (no error,
  request, due time, last commit, start time or finish time) is not stored: a script reads it as
  nil, the client as "" (parseHeader), and a write that empties one deletes it.

  Reply convention shared by every script: { code, ... } where code 0 is
  success, 1 is "stopped at a step boundary" ({ 1, "cancelled"|"paused",
  version }) and a negative code is an error:
    -1 unknown instance
    -2 stale version  { -2, actualVersion }
    -3 run finished   { -3, status }
    -4 corrupt header { -4, fieldName }
]]
local FINISHED = { completed = true, failed = true, cancelled = true }

-- Every number a script stores is an integer below 2^53 (a time in ms, a version, a count; a wait's
-- deadline is rounded up where it is made, resolveWait in waits.lua): %d writes it exactly (Lua's
-- tostring, %.14g, would round a 16-digit version) at a fourth of %.17g's cost. It needs a 64-bit
-- Redis, whose Lua formats %d through a C long.
local function num(n)
  return string.format("%d", n)
end

-- ctx.now as text, formatted once per script (formatting numbers is the dearest part of a small script).
local function nowText(ctx)
  if ctx.nowTextOf ~= ctx.now then
    ctx.nowText = num(ctx.now)
    ctx.nowTextOf = ctx.now
  end
  return ctx.nowText
end

-- @include "history"
-- @include "retention"

-- The plain fields (parseHeader in replies.ts reads the same), which scripts read by name (the step fields
-- beside them grow with the run, and a script reads only the ones it needs).
local HEADER_FIELDS = {
  "workflow", "hash", "status", "version", "waits", "error", "requested", "dueAt", "createdAt",
  "updatedAt", "finishedAt", "lastCommit", "signals", "startAt", "parent", "children",
}
local ATTEMPTS_PREFIX = "a:"

--[[
  The outputs hash `out:<id>` holds, beside a field per commit key with the step's output:
  - the run's input and result, under names no commit key has (an engine key starts with "#",
    and these are none of them);
  - the records of each step's attempts (attempts.lua) under RECORDS_PREFIX and the commit key.
  Records are kept apart from the header, where one with an error would outgrow a small hash's
  values and every header read would carry the stacks, and not in a hash of their own, which
  would cost every run a key (about 170 bytes). A commit writes a step's output and record in one
  HSET. What reads the outputs skips the records: rewind and migrate by isOutputField, the client
  as it parses a run (parseStoredRun in replies.ts), so acquire and getRun send the hash as it is.
]]
local INPUT_FIELD, RESULT_FIELD = "#input", "#result"
local PAYLOAD_FIELDS = { [INPUT_FIELD] = true, [RESULT_FIELD] = true }
local RECORDS_PREFIX = "#tries:"

local function outputsKey(ctx)
  return ctx.prefix .. "out:" .. ctx.id
end

-- Whether a field of the outputs hash holds a step's output (not the input, the result or a record).
local function isOutputField(field)
  if PAYLOAD_FIELDS[field] then return false end
  return string.sub(field, 1, #RECORDS_PREFIX) ~= RECORDS_PREFIX
end

--[[
  Key layouts 2 and 3 kept the records in a hash of their own, `tries:<id>` (one field per commit
  key). A run they wrote keeps it until the run goes: a record not found in the outputs hash is
  read from it (attempts.lua), and what drops records, expires or deletes a run does it there too.
]]
local function oldTriesKey(ctx)
  return ctx.prefix .. "tries:" .. ctx.id
end

--[[
  `fields` for loadHeader (and requireRun) that reads the whole header in one HGETALL, step fields
  included (a step's under "a:<key>"): for a script that answers the header after its write, which
  wholeHeaderReply builds from h, where a read of the plain fields and an HGETALL after the write
  would cost twice as much.
]]
local WHOLE_HEADER = "*"

-- The header's plain fields (or only `fields`, a list of them, or all with WHOLE_HEADER), or nil when the run does not exist.
local function loadHeader(key, fields)
  if fields == WHOLE_HEADER then
    local flat = redis.call("HGETALL", key)
    if #flat == 0 then return nil end
    local h = {}
    for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
    return h
  end
  fields = fields or HEADER_FIELDS
  local values = redis.call("HMGET", key, unpack(fields))
  local h, found = {}, false
  for i, field in ipairs(fields) do
    if values[i] then
      h[field] = values[i]
      found = true
    end
  end
  if not found then return nil end
  return h
end

--[[
  A field of one of the run's hashes (the header's step fields, the attempt records). A script
  that writes several before its writeHeader (a commit: the step's attempts and record, the next
  step's first attempt) stages them (`ctx.staged`, a table it sets): writeHeader sends each
  hash's in one HSET, the header's with its own changes, and getField reads a staged value first.
]]
local function setField(ctx, key, field, value)
  if ctx.staged then
    ctx.staged[key] = ctx.staged[key] or {}
    ctx.staged[key][field] = value
  else
    redis.call("HSET", key, field, value)
  end
end

local function getField(ctx, key, field)
  local staged = ctx.staged and ctx.staged[key]
  if staged and staged[field] ~= nil then return staged[field] end
  return redis.call("HGET", key, field)
end

-- The attempt records of step `key` as text, or nil (from the old hash of a run an earlier key layout wrote, if need be).
local function recordsText(ctx, key)
  return getField(ctx, outputsKey(ctx), RECORDS_PREFIX .. key) or redis.call("HGET", oldTriesKey(ctx), key) or nil
end

-- Deletes `fields` of hash `key`, a thousand at a time (Lua unpacks a few thousand values at most).
local function deleteFields(key, fields)
  for i = 1, #fields, 1000 do
    redis.call("HDEL", key, unpack(fields, i, math.min(i + 999, #fields)))
  end
end

-- The commit keys of the run's steps that have attempts or attempt records, each once.
local function stepKeys(ctx)
  local keys, seen = {}, {}
  local function add(key)
    if not seen[key] then
      seen[key] = true
      keys[#keys + 1] = key
    end
  end
  local function addPrefixed(hashKey, prefix)
    local n = #prefix
    for _, field in ipairs(redis.call("HKEYS", hashKey)) do
      if string.sub(field, 1, n) == prefix then add(string.sub(field, n + 1)) end
    end
  end
  addPrefixed(ctx.headerKey, ATTEMPTS_PREFIX)
  addPrefixed(outputsKey(ctx), RECORDS_PREFIX)
  for _, key in ipairs(redis.call("HKEYS", oldTriesKey(ctx))) do add(key) end
  return keys
end

-- Drops the attempts and attempt records of steps `keys` (a list), and with `outputs` their outputs too.
local function dropStepFields(ctx, keys, outputs)
  if #keys == 0 then return end
  local attempts, out = {}, {}
  for i, key in ipairs(keys) do
    attempts[i] = ATTEMPTS_PREFIX .. key
    out[#out + 1] = RECORDS_PREFIX .. key
    if outputs then out[#out + 1] = key end
  end
  deleteFields(ctx.headerKey, attempts)
  deleteFields(outputsKey(ctx), out)
  deleteFields(oldTriesKey(ctx), keys)
end

-- The header of a run that must exist (its plain fields, or only `fields`), or an error reply.
-- The version is parsed once, into ctx.version (writeHeader keeps it), as a 16-digit one costs to parse.
local function requireRun(ctx, fields)
  local h = loadHeader(ctx.headerKey, fields)
  if not h then return nil, { -1 } end
  ctx.version = tonumber(h.version)
  if ctx.version == nil then return nil, { -4, "version" } end
  return h
end

-- Whether the run is at `version` (text, as the caller sent it): both are integers as num writes
-- them, so equal text is one version, and only different text is parsed to compare.
local function atVersion(ctx, h, version)
  return h.version == version or ctx.version == tonumber(version)
end

-- The header of a run at exactly `version` (compare-and-set; its plain fields, or only `fields`), or an error reply.
local function expectVersion(ctx, version, fields)
  local h, err = requireRun(ctx, fields)
  if err then return nil, err end
  if not atVersion(ctx, h, version) then return nil, { -2, ctx.version } end
  return h
end

local function liveError(h)
  if FINISHED[h.status] then return { -3, h.status } end
  return nil
end

--[[
  The names of the signals ever buffered for a run live in the set
  `signames:<id>` (signalRun adds to it), so the buffers can go with the run:
  a finished run takes no signal, and a buffered one (a misspelled name, one
  no step waited for) would otherwise stay for ever. A buffer key spells the
  id's byte length (#id in Lua) as keys.ts does.
]]
local function dropSignalBuffers(ctx)
  local namesKey = ctx.prefix .. "signames:" .. ctx.id
  local names = redis.call("SMEMBERS", namesKey)
  if #names == 0 then return end
  for _, name in ipairs(names) do
    redis.call("DEL", ctx.prefix .. "sig:" .. #ctx.id .. ":" .. ctx.id .. ":" .. name)
  end
  redis.call("DEL", namesKey)
end

--[[
  The version a run gets when it is handed to a worker (acquireRun): above the
  version it has, and at least the store's clock in microseconds (`nowUs`, see nowMsUs). Every other
  write adds one, and a holder makes far fewer writes than a microsecond each,
  so no version a holder of the run ever had can come again after a handover,
  even when a failover to a replica that lagged rolled the run back to an
  older version: the worker the rollback fenced and the run's next holder
  never share one (a count alone would hand the next holder the very version
  the fenced worker still writes with).
]]
local function handoverVersion(ctx, nowUs)
  return math.max(ctx.version + 1, nowUs)
end

--[[
  The finish indexes: a finished run is in `fin:<status>` and `wffin:<status>:<workflow>`, scored
  by finishedAt, for `list` with a finish range (listRuns walks them as it walks the creation
  indexes). Live runs are in neither, so a finish range never matches them.
]]
local function addFinished(prefix, id, status, workflow, at)
  redis.call("ZADD", prefix .. "fin:" .. status, at, id)
  if workflow and workflow ~= "" then redis.call("ZADD", prefix .. "wffin:" .. status .. ":" .. workflow, at, id) end
end

local function dropFinished(prefix, id, status, workflow)
  if not FINISHED[status] then return end
  redis.call("ZREM", prefix .. "fin:" .. status, id)
  if workflow and workflow ~= "" then redis.call("ZREM", prefix .. "wffin:" .. status .. ":" .. workflow, id) end
end

--[[
  The ids of a run's delayed wake-up jobs (the wake-up queue records them in `wakes:<id>`) are no
  use once the run finished or went: they move to the partition's `stale-wakes` set, whose jobs the
  workers' sweep removes, so neither the script that ends a run nor its caller spends a round trip
  on them.
]]
local function retireWakeUps(ctx)
  local wakesKey = ctx.prefix .. "wakes:" .. ctx.id
  local ids = redis.call("SMEMBERS", wakesKey)
  if #ids == 0 then return end
  redis.call("SADD", ctx.prefix .. "stale-wakes", unpack(ids))
  redis.call("DEL", wakesKey)
end

-- A run that finishes or goes loses its signal buffers and retires its wake-up jobs. Most runs have
-- neither set: one EXISTS of both costs less than the two reads that would find them empty.
local function dropRunSets(ctx)
  if redis.call("EXISTS", ctx.prefix .. "signames:" .. ctx.id, ctx.prefix .. "wakes:" .. ctx.id) == 0 then return end
  dropSignalBuffers(ctx)
  retireWakeUps(ctx)
end

--[[
  Far timers. A run parked until more than TIMER_HORIZON_MS ahead (a long delay, a signal's
  distant timeout, a delayed start) is kept in the partition's `timers` index, scored by when
  it is due, instead of the due index and a delayed wake-up job: the workers move it to the due
  index and the wake-up queue once it comes within the horizon (promoteTimers-2.lua), and the
  wake-up queue adds no job for so distant a wake-up. A sleeping run then holds one index entry,
  not two, a job and its record (about 750 bytes). Mirrors TIMER_HORIZON_MS in keys.ts.
]]
local TIMER_HORIZON_MS = 600000

local function isFarTimer(status, dueAt, now)
  if status ~= "parked" then return false end
  local due = tonumber(dueAt)
  return due ~= nil and due > now + TIMER_HORIZON_MS
end

-- Keeps the due and timers indexes in step with a write that moved the run from `before` (h holds the run after it).
local function trackDue(ctx, before, h, changes)
  if changes.dueAt == nil and changes.status == nil then return end
  if isFarTimer(h.status, h.dueAt, ctx.now) then
    redis.call("ZADD", ctx.prefix .. "timers", h.dueAt, ctx.id)
    redis.call("ZREM", ctx.dueKey, ctx.id)
    return
  end
  if changes.dueAt == "" then
    redis.call("ZREM", ctx.dueKey, ctx.id)
  elseif changes.dueAt then
    redis.call("ZADD", ctx.dueKey, changes.dueAt, ctx.id)
  end
  if before == "parked" then redis.call("ZREM", ctx.prefix .. "timers", ctx.id) end
end

--[[
  Every write goes through here, as MemoryStore.write does: the version goes
  up by one (or to `changes.version`, a handover's) and updatedAt is stamped,
  and the status indexes (by status, and by workflow and status), the finish indexes, due index
  (or timers index) and finish channel follow the header in the same atomic step. A run that reaches a finished
  status records when (finishedAt), and one sent on again (retry, rewind) loses it. A run that
  finishes loses its signal buffers and its wake-up jobs. `changes` maps
  header fields to their new string values ("" for null). The write's event is
  `event` (a table, or its JSON text), else the one its status change means (statusEvent in history.lua);
  it is recorded before a finished run's keys get their TTL, so its history expires with it.
]]
local function writeHeader(ctx, h, changes, event)
  local version = changes.version or (ctx.version or tonumber(h.version)) + 1
  changes.version = num(version)
  ctx.version = version
  changes.updatedAt = nowText(ctx)
  local moved = changes.status and changes.status ~= h.status
  if moved and FINISHED[changes.status] then
    changes.finishedAt = changes.updatedAt
  elseif moved and FINISHED[h.status] then
    changes.finishedAt = ""
  end
  -- An empty field is not stored (see the top of this file): one that empties is deleted.
  local args, emptied = {}, {}
  for field, value in pairs(changes) do
    if value ~= "" then
      args[#args + 1] = field
      args[#args + 1] = value
    elseif h[field] ~= nil then
      emptied[#emptied + 1] = field
    end
  end
  local staged = ctx.staged or {}
  ctx.staged = nil
  for field, value in pairs(staged[ctx.headerKey] or {}) do
    args[#args + 1] = field
    args[#args + 1] = value
    h[field] = value
  end
  staged[ctx.headerKey] = nil
  redis.call("HSET", ctx.headerKey, unpack(args))
  if #emptied > 0 then redis.call("HDEL", ctx.headerKey, unpack(emptied)) end
  for key, fields in pairs(staged) do
    local flat = {}
    for field, value in pairs(fields) do
      flat[#flat + 1] = field
      flat[#flat + 1] = value
    end
    redis.call("HSET", key, unpack(flat))
  end
  local before = h.status
  for field, value in pairs(changes) do h[field] = value ~= "" and value or nil end

  if moved then
    redis.call("ZREM", ctx.prefix .. "status:" .. before, ctx.id)
    redis.call("ZADD", ctx.prefix .. "status:" .. changes.status, h.createdAt, ctx.id)
    if h.workflow then
      redis.call("ZREM", ctx.prefix .. "wfstatus:" .. before .. ":" .. h.workflow, ctx.id)
      redis.call("ZADD", ctx.prefix .. "wfstatus:" .. changes.status .. ":" .. h.workflow, h.createdAt, ctx.id)
    end
    dropFinished(ctx.prefix, ctx.id, before, h.workflow)
    if FINISHED[changes.status] then addFinished(ctx.prefix, ctx.id, changes.status, h.workflow, changes.finishedAt) end
  end
  trackDue(ctx, before, h, changes)
  event = event or statusEvent(ctx, before, h)
  if type(event) == "string" then
    pushEvent(ctx, event)
  elseif event then
    recordEvent(ctx, event)
  end
  if changes.status and FINISHED[changes.status] then
    dropRunSets(ctx)
    retainFinished(ctx, h)
    redis.call("PUBLISH", ctx.prefix .. "finished", cjson.encode({ ctx.id, changes.status }))
  end
  return version
end

-- What a script that renews the lease and answers the request reads (touch, heartbeat, a starting attempt):
-- the version it checks, the status renewLease checks, and the request.
local LEASE_FIELDS = { "status", "version", "requested" }

--[[
  Renews a running run's lease (dueAt, in the header and the due index) from ctx.now, without a new
  version, as a touch, a heartbeat and a starting attempt do. `fields` (field, value, ...) are
  header fields the caller writes too, sent in the same HSET.
]]
local function renewLease(ctx, h, leaseMs, fields)
  fields = fields or {}
  if h.status == "running" then
    local dueAt = num(ctx.now + leaseMs)
    fields[#fields + 1] = "dueAt"
    fields[#fields + 1] = dueAt
    redis.call("ZADD", ctx.dueKey, dueAt, ctx.id)
  end
  if #fields > 0 then redis.call("HSET", ctx.headerKey, unpack(fields)) end
end

--[[
  Records a cancel or pause asked of a running run, or ("") takes a pause back, without a new
  version: the version fences workers from each other, and the worker holding the run must
  still reach its next boundary, where the request applies.
]]
local function recordRequest(ctx, h, requested)
  if requested == "" then
    -- No empty field is stored (see the top of this file).
    redis.call("HSET", ctx.headerKey, "updatedAt", num(ctx.now))
    redis.call("HDEL", ctx.headerKey, "requested")
    h.requested = nil
  else
    redis.call("HSET", ctx.headerKey, "requested", requested, "updatedAt", num(ctx.now))
    h.requested = requested
  end
end

-- The header, its step fields included, as a flat field/value array, for the client to parse.
local function headerReply(ctx)
  return redis.call("HGETALL", ctx.headerKey)
end

-- The same from h read with WHOLE_HEADER (writeHeader keeps it in step with what it writes).
local function wholeHeaderReply(h)
  local flat = {}
  for field, value in pairs(h) do
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
  return flat
end
