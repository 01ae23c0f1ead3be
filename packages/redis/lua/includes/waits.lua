--[[
  Waits, JSON-encoded in the header's `waits` field. Mirrors resolveWait and
  earliestDeadline of the in-memory store (packages/core/src/store/memory.ts).
]]

local function decodeWaits(h)
  local ok, waits = pcall(cjson.decode, h.waits or "[]")
  if not ok or type(waits) ~= "table" then return nil, { -4, "waits" } end
  return waits
end

-- cjson encodes an empty table as {}; the header must hold a JSON array.
local function encodeWaits(waits)
  if #waits == 0 then return "[]" end
  return cjson.encode(waits)
end

-- A wait's absolute deadline: a delay or signal timeout keeps the one of its first park, else now + the requested delay.
local function resolveWait(request, previous, now)
  local before = nil
  for _, w in ipairs(previous) do
    if w.key == request.key and w.kind == request.kind then
      before = w
      break
    end
  end
  if request.kind == "timer" then
    local untilAt = now + request.delayMs
    -- A delay keeps the deadline of its first park; a retry asks for what is left of its backoff each time.
    if before and request.reason == "delay" and before.reason == "delay" then untilAt = before["until"] end
    return { kind = "timer", key = request.key, reason = request.reason, ["until"] = untilAt }
  end
  local timeoutAt = cjson.null
  if before then
    timeoutAt = before.timeoutAt
  elseif request.timeoutMs ~= cjson.null then
    timeoutAt = now + request.timeoutMs
  end
  return { kind = "signal", key = request.key, signal = request.signal, timeoutAt = timeoutAt }
end

-- The earliest deadline among waits (when a parked run must next be looked at), or nil.
local function earliestDeadline(waits)
  local earliest = nil
  for _, w in ipairs(waits) do
    local t = w.kind == "timer" and w["until"] or w.timeoutAt
    if t ~= nil and t ~= cjson.null and (earliest == nil or t < earliest) then earliest = t end
  end
  return earliest
end

local function waitsForSignal(waits, name)
  for _, w in ipairs(waits) do
    if w.kind == "signal" and w.signal == name then return true end
  end
  return false
end
