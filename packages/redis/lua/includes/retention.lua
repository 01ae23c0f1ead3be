--[[
  Retention of finished runs. When a run finishes (writeHeader's finish
  branch), its keys get a TTL of its retention and the run enters the
  retention index, so the workers' sweep (trimExpired) can remove its index
  entries once the keys are gone: Redis expires keys, never sorted-set members.
  Nothing of a live run has a TTL: every script that sends a finished run on
  (retry, rewind, migrate, restart) calls keepRun first.

  Keys derived from the prefix, as keys.ts derives them:
    retention   hash: "<status>" (namespace default) and "<status>:<workflow>"
                (a workflow's override) -> milliseconds, or "forever"
    expiring    sorted set: member [id, status, workflow] (JSON), score = when its keys expire

  Included by header.lua, after num.
]]
local RETENTION_DEFAULT_MS = { completed = 604800000, cancelled = 604800000, failed = 2592000000 }

-- The keys of one run that carry its data (the delivery ids expire on their own clock; the wake-up record went, see
-- retireWakeUps in header.lua): header (with its steps' attempts and commit order), outputs (with
-- input, result and attempt records), heartbeat progress, history, and the attempt records an
-- earlier key layout kept apart (oldTriesKey in header.lua).
local function runDataKeys(prefix, id)
  return {
    prefix .. "run:" .. id,
    prefix .. "out:" .. id,
    prefix .. "progress:" .. id,
    prefix .. "hist:" .. id,
    prefix .. "tries:" .. id,
  }
end

-- A run's member in the retention index: what the sweep needs once the header is gone.
local function expiringMember(id, status, workflow)
  return cjson.encode({ id, status, workflow or "" })
end

-- How long a run that finished as `status` is kept, in ms; nil for ever.
local function retentionMs(prefix, status, workflow)
  local set = redis.call("HMGET", prefix .. "retention", status .. ":" .. (workflow or ""), status)
  local value = set[1] or set[2] or RETENTION_DEFAULT_MS[status]
  if value == "forever" then return nil end
  return tonumber(value)
end

-- Called as a run finishes (h holds its new status): its keys expire after its retention.
local function retainFinished(ctx, h)
  local ms = retentionMs(ctx.prefix, h.status, h.workflow)
  if ms == nil then return end
  -- Formatted once: Redis formats a number argument anew for each call.
  local msText = num(ms)
  for _, key in ipairs(runDataKeys(ctx.prefix, ctx.id)) do redis.call("PEXPIRE", key, msText) end
  -- LT: a delivery-id hash that would expire sooner keeps its own TTL.
  redis.call("PEXPIRE", ctx.prefix .. "delivered:" .. ctx.id, msText, "LT")
  redis.call("ZADD", ctx.prefix .. "expiring", ctx.now + ms, expiringMember(ctx.id, h.status, h.workflow))
end

-- A finished run goes on (retry, rewind, ...): its keys lose their TTL and it leaves the retention index.
local function keepRun(prefix, id, h)
  for _, key in ipairs(runDataKeys(prefix, id)) do redis.call("PERSIST", key) end
  redis.call("ZREM", prefix .. "expiring", expiringMember(id, h.status, h.workflow))
end
