--[[
  Buffers a signal for a run (first in, first out per name), records its name in the run's set of
  buffered names so the buffer goes when the run finishes, and wakes the run (due now) when it is
  parked waiting for that name. A delivery id seen before buffers nothing again: the answer is
  the first one's. Needs "now", "header" and "waits".

  Returns the reply { 0, "woke" | "buffered", dueAt or false, version, duplicate (1 or 0) } or an
  error reply (-3 finished, -4 corrupt header).
]]
local function deliverSignal(ctx, h, signal)
  if signal.deliveryId ~= "" then
    local before = redis.call("HGET", signal.deliveriesKey, signal.deliveryId)
    if before then return { 0, before, tonumber(h.dueAt) or false, tonumber(h.version), 1 } end
  end
  local finished = liveError(h)
  if finished then return finished end
  local waits, werr = decodeWaits(h)
  if werr then return werr end

  local function remember(outcome)
    if signal.deliveryId == "" then return end
    redis.call("HSET", signal.deliveriesKey, signal.deliveryId, outcome)
    redis.call("PEXPIRE", signal.deliveriesKey, signal.keepMs)
  end

  redis.call("RPUSH", signal.bufferKey, signal.payload)
  -- Derived from the prefix, as writeHeader derives it to drop the buffers when the run finishes.
  redis.call("SADD", ctx.prefix .. "signames:" .. ctx.id, signal.name)
  ctx.now = nowMs()
  local received = { type = "signal.received", signal = signal.name }
  if h.status ~= "parked" or not waitsForSignal(waits, signal.name) then
    recordEvent(ctx, received)
    remember("buffered")
    return { 0, "buffered", tonumber(h.dueAt) or false, tonumber(h.version), 0 }
  end
  local version = writeHeader(ctx, h, { dueAt = num(ctx.now) }, received)
  remember("woke")
  return { 0, "woke", ctx.now, version, 0 }
end
