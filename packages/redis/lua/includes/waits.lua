--[[
  Waits, JSON-encoded in the header's `waits` field. Mirrors resolveWait and
  earliestDeadline of the in-memory store (packages/core/src/store/memory.ts).
]]

--[[
  The header holds waits compactly, one array per wait, so a header with a
  wait or two stays under Redis's hash-max-listpack-value (64 bytes) and keeps
  the small listpack encoding (a wait as an object would turn the whole header
  into a hash table: twice the memory for every run parked on a delay):
    timer:  ["t", key, "d" (delay) | "r" (retry) | "o" (run timeout) | "b" (delayed start) | "l" (slot) | "c" (child re-check), until]
    signal: ["s", key, signal, timeoutAt or null]
  Headers written by earlier versions hold objects ({ kind, key, ... }): both
  are read, and the next write stores the compact form. parseWaits in
  src/replies.ts reads the same two forms.
]]
-- One letter per timer reason; TIMER_REASONS in src/replies.ts reads the same letters.
local REASONS = { d = "delay", r = "retry", o = "timeout", b = "start", l = "slot", c = "child" }
local REASON_CODES = { delay = "d", retry = "r", timeout = "o", start = "b", slot = "l", child = "c" }

-- A stored wait as the object the scripts work with, or nil when it is neither form.
local function decodeWait(w)
  if type(w) ~= "table" then return nil end
  if w.kind ~= nil then return w end
  if w[1] == "t" and REASONS[w[3]] then return { kind = "timer", key = w[2], reason = REASONS[w[3]], ["until"] = w[4] } end
  if w[1] == "s" then return { kind = "signal", key = w[2], signal = w[3], timeoutAt = w[4] } end
  return nil
end

local function decodeWaits(h)
  local ok, stored = pcall(cjson.decode, h.waits or "[]")
  if not ok or type(stored) ~= "table" then return nil, { -4, "waits" } end
  local waits = {}
  for i, w in ipairs(stored) do
    waits[i] = decodeWait(w)
    if waits[i] == nil then return nil, { -4, "waits" } end
  end
  return waits
end

-- cjson encodes an empty table as {}; the header must hold a JSON array.
local function encodeWaits(waits)
  if #waits == 0 then return "[]" end
  local stored = {}
  for i, w in ipairs(waits) do
    if w.kind == "timer" then
      stored[i] = { "t", w.key, REASON_CODES[w.reason], w["until"] }
    else
      stored[i] = { "s", w.key, w.signal, w.timeoutAt }
    end
  end
  return cjson.encode(stored)
end

--[[
  A wait's absolute deadline: a delay or signal timeout keeps the one of its first park, else now +
  the requested delay, up to the next whole millisecond. The engine asks for what is left of a
  deadline by its own clock, a fraction; the header and index keep whole milliseconds (num in
  header.lua), and a deadline cut down would hand the run over before it is due.
]]
local function resolveWait(request, previous, now)
  local before = nil
  for _, w in ipairs(previous) do
    if w.key == request.key and w.kind == request.kind then
      before = w
      break
    end
  end
  if request.kind == "timer" then
    local untilAt = math.ceil(now + request.delayMs)
    -- A delay keeps the deadline of its first park; a retry asks for what is left of its backoff each time.
    if before and request.reason == "delay" and before.reason == "delay" then untilAt = before["until"] end
    return { kind = "timer", key = request.key, reason = request.reason, ["until"] = untilAt }
  end
  local timeoutAt = cjson.null
  if before then
    timeoutAt = before.timeoutAt
  elseif request.timeoutMs ~= cjson.null then
    timeoutAt = math.ceil(now + request.timeoutMs)
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
