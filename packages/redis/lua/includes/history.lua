--[[
  A run's history: its last HISTORY_LIMIT events, oldest first, in the list
  `hist:<id>` (derived from the prefix, as keys.ts derives it), each a JSON
  object { at, type, ... } as core's RunEvent (packages/core/src/store/history.ts,
  where the vocabulary and the rules are defined; this file mirrors them), but for
  the event every step writes, "step.committed", kept as the array [at, key, attempt]
  (a third of the bytes; parseHistory in replies.ts reads both).
  Every event is recorded by the script whose write it describes, dated by the
  store's clock (ctx.now), so recording one costs no round trip of its own.
]]
-- Mirrors HISTORY_LIMIT in core's store/history.ts.
local HISTORY_LIMIT = 100
-- Mirrors RECORDED_MESSAGE_CHARS and RECORDED_STACK_CHARS.
local MESSAGE_CHARS = 1000
local STACK_CHARS = 2000

-- Adds an event, given as its JSON text, to the run's history.
local function pushEvent(ctx, json)
  local key = ctx.prefix .. "hist:" .. ctx.id
  -- RPUSH answers the new length: the list is trimmed only once it is full.
  if redis.call("RPUSH", key, json) > HISTORY_LIMIT then redis.call("LTRIM", key, -HISTORY_LIMIT, -1) end
end

-- Adds `event` (a table with `type` and its fields) to the run's history, dated ctx.now unless it has `at`.
local function recordEvent(ctx, event)
  if event.at == nil then event.at = ctx.now end
  pushEvent(ctx, cjson.encode(event))
end

--[[
  The event of a commit under `key` on attempt `attempts` (a decimal string): mirrors core's
  commitEvent (a compensation's outcome is `<key>#compensate`). A step commits in every run, so
  its event is written as text, with the time formatted once for the whole script.
]]
local function recordCommit(ctx, key, attempts)
  if string.sub(key, -11) == "#compensate" then
    recordEvent(ctx, { type = "compensation.ran", key = string.sub(key, 1, -12) })
    return
  end
  pushEvent(ctx, "[" .. nowText(ctx) .. "," .. cjson.encode(key) .. "," .. attempts .. "]")
end

-- An error as events keep it (core's recordedError without a stack): name, message (cut), code, step.
local function eventError(e)
  if type(e) ~= "table" then return { name = "Error", message = "unknown error" } end
  local message = type(e.message) == "string" and e.message or ""
  return { name = e.name or "Error", message = string.sub(message, 1, MESSAGE_CHARS), code = e.code, step = e.step }
end

-- A stored error (JSON) as events keep it.
local function decodedEventError(json)
  local ok, e = pcall(cjson.decode, json or "")
  return eventError(ok and e or nil)
end

--[[
  The event a write records when it changes the run's status (`before` to h.status)
  and names none of its own: mirrors core's statusEvent. One with no field but its type and
  time (every run completes, and most wake) is written as text: cjson.encode costs more.
]]
local function statusEvent(ctx, before, h)
  local status = h.status
  if status == before then return nil end
  if status == "parked" then
    local ok, waits = pcall(cjson.decode, h.waits or "[]")
    return { type = "parked", waits = ok and waits or {} }
  end
  if status == "failed" then return { type = "failed", error = decodedEventError(h.error) } end
  local plain = (status == "paused" or status == "cancelled" or status == "completed") and status
    or (status == "running" and before == "parked" and "woke")
  if not plain then return nil end
  return '{"type":"' .. plain .. '","at":' .. nowText(ctx) .. "}"
end
