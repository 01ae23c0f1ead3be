--[[
  Creates a run's keys and index entries: status "pending" and due now, or, with a delayed start
  whose time is still ahead, "parked" on a "#start" timer and due then (the header keeps its
  start time in "startAt"). Mirrors MemoryStore.start (packages/core/src/store/memory.ts).
  Needs "now", "header" and "waits". Keys are derived from the prefix as writeHeader derives them.
  Returns the header it wrote, as a flat field/value array (headerReply's form).

  run = { workflow, hash, input, signals (JSON), startKind ("" | "at" | "delay"), startValue (ms),
          parent (a child run's link, JSON { id, key }, or "") }
]]
local function createRun(ctx, run)
  local now = nowMs()
  local status, dueAt, waits, startAt = "pending", now, "[]", ""
  local at = nil
  if run.startKind == "at" then at = tonumber(run.startValue) end
  if run.startKind == "delay" then at = now + tonumber(run.startValue) end
  if at ~= nil and at > now then
    status, dueAt, startAt = "parked", at, num(at)
    waits = encodeWaits({ { kind = "timer", key = "#start", reason = "start", ["until"] = at } })
  end
  local created = num(now)
  local due = dueAt == now and created or num(dueAt)
  local fields = {
    "workflow", run.workflow, "hash", run.hash, "status", status, "version", "1", "waits", waits,
    "dueAt", due, "createdAt", created, "updatedAt", created, "signals", run.signals,
  }
  if startAt ~= "" then
    fields[#fields + 1] = "startAt"
    fields[#fields + 1] = startAt
  end
  if run.parent ~= nil and run.parent ~= "" then
    fields[#fields + 1] = "parent"
    fields[#fields + 1] = run.parent
  end
  redis.call("HSET", ctx.headerKey, unpack(fields))
  redis.call("HSET", ctx.prefix .. "out:" .. ctx.id, INPUT_FIELD, run.input)
  redis.call("ZADD", isFarTimer(status, dueAt, now) and ctx.prefix .. "timers" or ctx.dueKey, due, ctx.id)
  redis.call("ZADD", ctx.prefix .. "status:" .. status, created, ctx.id)
  redis.call("ZADD", ctx.prefix .. "wfstatus:" .. status .. ":" .. run.workflow, created, ctx.id)
  ctx.now = now
  if startAt == "" then
    -- Every run starts: its event is written as text (cjson.encode is the dearest part of a start).
    pushEvent(ctx, '{"type":"started","at":' .. created .. "}")
  else
    recordEvent(ctx, { type = "started", startAt = at })
  end
  return fields
end
