--[[
  The records of a step's last attempts, in the outputs hash under RECORDS_PREFIX and the commit
  key (see header.lua), each a JSON array of its last ATTEMPTS_KEPT attempts, oldest first, each
  [attempt, startedAt or null, finishedAt or null, error?] (store times; the
  error as core's recordedError keeps it). Mirrors startedAttempt, endedAttempt,
  recordFailure and waitOpensRecord of core's store/history.ts. Needs "history".
]]
-- Mirrors ATTEMPTS_KEPT in core's store/history.ts.
local ATTEMPTS_KEPT = 10


-- The step's records as JSON, decoded; a field that does not decode is started afresh (records inform, they decide nothing).
local function decodeTries(raw)
  if not raw then return {} end
  local ok, records = pcall(cjson.decode, raw)
  if not ok or type(records) ~= "table" then return {} end
  return records
end

local function setTries(ctx, key, text)
  setField(ctx, outputsKey(ctx), RECORDS_PREFIX .. key, text)
end

local function saveTries(ctx, key, records)
  while #records > ATTEMPTS_KEPT do table.remove(records, 1) end
  setTries(ctx, key, cjson.encode(records))
end

-- The records of a first attempt that starts now, as text (the hot path encodes no JSON).
local function firstAttempt(ctx)
  return "[[1," .. nowText(ctx) .. "]]"
end

-- Attempt n of step `key` starts now: the records of attempt n and later ones go (the step starts over, or an attempt given back starts again).
local function startAttemptRecord(ctx, key, n)
  -- A first attempt keeps nothing before it: no read.
  if n == 1 then
    setTries(ctx, key, firstAttempt(ctx))
    return
  end
  local kept = {}
  for _, r in ipairs(decodeTries(recordsText(ctx, key))) do
    if r[1] < n then kept[#kept + 1] = r end
  end
  kept[#kept + 1] = { n, ctx.now }
  saveTries(ctx, key, kept)
end

-- Attempt n of step `key` ended at `at` (with `error` when it failed): its record is closed, never before
-- it started, or added when the store never saw it start. Returns when it ended.
local function endAttemptRecord(ctx, key, n, at, error)
  local raw = recordsText(ctx, key)
  -- The hot path: a first attempt that started here and ended well now, closed as text.
  local started = n == 1 and error == nil and at == ctx.now and raw and string.match(raw, "^%[%[1,(%d+)%]%]$")
  if started and tonumber(started) <= at then
    setTries(ctx, key, "[[1," .. started .. "," .. nowText(ctx) .. "]]")
    return at
  end
  local records = decodeTries(raw)
  local record = nil
  for i = #records, 1, -1 do
    if records[i][1] == n then
      record = records[i]
      break
    end
  end
  if record == nil then
    record = { n, cjson.null }
    records[#records + 1] = record
  end
  if type(record[2]) == "number" and record[2] > at then at = record[2] end
  record[3] = at
  record[4] = error
  saveTries(ctx, key, records)
  return at
end

--[[
  The attempts a write carries as failed (JSON list of core's FailedAttempt:
  { key, attempt, error, agoMs, retryInMs or null }; "" for none): each closes
  its record with its error, dated agoMs before now, and records
  "retry.scheduled" (its next attempt due retryInMs later) or "step.failed".
]]
local function recordFailures(ctx, failedJson)
  if failedJson == nil or failedJson == "" then return end
  for _, f in ipairs(cjson.decode(failedJson)) do
    local at = endAttemptRecord(ctx, f.key, f.attempt, ctx.now - math.max(0, f.agoMs), f.error)
    local event = { at = at, key = f.key, attempt = f.attempt, error = eventError(f.error) }
    if f.retryInMs == cjson.null then
      event.type = "step.failed"
    else
      event.type = "retry.scheduled"
      event.retryAt = at + f.retryInMs
    end
    recordEvent(ctx, event)
  end
end

-- A delay, signal or child wait opens its step's record the first time it parks (a retry's step has its own).
local function openWaitRecords(ctx, waits)
  for _, w in ipairs(waits) do
    if w.kind == "signal" or w.reason == "delay" or w.reason == "child" then
      local field = RECORDS_PREFIX .. w.key
      if redis.call("HSETNX", outputsKey(ctx), field, firstAttempt(ctx)) == 1 then
        -- A run an earlier key layout wrote may have opened it in its old hash.
        local old = redis.call("HGET", oldTriesKey(ctx), w.key)
        if old then redis.call("HSET", outputsKey(ctx), field, old) end
      end
    end
  end
end
