--[[
  Shared by the run-lifecycle scripts (delete, purge, trim, retry, rewind,
  migrate, restart). Included after "header" and "waits". Error codes beside
  header.lua's:
    -5 wrong status   { -5, status }   the operation does not apply to the run as it stands
    -6 unknown step   { -6, key }      the run has no output under that commit key
    -7 incompatible   { -7, key }      a committed key the new definition does not have
]]

-- Removes a run's index entries, as writeHeader and startRun made them.
local function dropIndexEntries(prefix, id, status, workflow)
  redis.call("ZREM", prefix .. "status:" .. status, id)
  redis.call("ZREM", prefix .. "all", id)
  redis.call("ZREM", prefix .. "due", id)
  if workflow ~= nil and workflow ~= "" then
    redis.call("ZREM", prefix .. "wf:" .. workflow, id)
    redis.call("ZREM", prefix .. "wfstatus:" .. status .. ":" .. workflow, id)
  end
end

-- Removes every key and index entry of a run whose header `h` was just read.
local function dropRun(prefix, id, h)
  local keys = runDataKeys(prefix, id)
  keys[#keys + 1] = prefix .. "delivered:" .. id
  redis.call("DEL", unpack(keys))
  dropSignalBuffers({ prefix = prefix, id = id })
  dropIndexEntries(prefix, id, h.status, h.workflow)
  redis.call("ZREM", prefix .. "expiring", expiringMember(id, h.status, h.workflow))
end

--[[
  Which commit keys a set of definition nodes owns: `refs` (JSON array) are
  node refs committed as they are, `loops` (JSON array) loop refs committed as
  "<ref>#<n>". Returns a predicate over commit keys.
]]
local function stepKeySet(refsJson, loopsJson)
  local refs, loops = {}, {}
  for _, ref in ipairs(cjson.decode(refsJson)) do refs[ref] = true end
  for _, ref in ipairs(cjson.decode(loopsJson)) do loops[ref] = true end
  return function(key)
    if refs[key] then return true end
    local loop = string.match(key, "^(.+)#%d+$")
    return loop ~= nil and loops[loop] == true
  end
end

-- The waits whose key `keep` accepts (renamed by `rename`, when given), as stored JSON.
local function keptWaits(h, keep, rename)
  local waits, err = decodeWaits(h)
  if err then return nil, err end
  local kept = {}
  for _, w in ipairs(waits) do
    if rename and rename[w.key] then w.key = rename[w.key] end
    if keep(w.key) then kept[#kept + 1] = w end
  end
  return kept
end

--[[
  Sends a run on after a repair: a finished run's keys lose their TTL; the run
  is due now ("parked" with waits left, which the worker re-checks, else
  "pending"), or stays paused. The version goes up, fencing any worker that
  still holds the run.
]]
local function sendOn(ctx, h, waits, extra)
  if FINISHED[h.status] then keepRun(ctx.prefix, ctx.id, h) end
  local changes = extra or {}
  changes.waits = encodeWaits(waits)
  changes.error = ""
  if h.status == "paused" then
    changes.dueAt = ""
  else
    changes.status = #waits > 0 and "parked" or "pending"
    changes.dueAt = num(ctx.now)
    if FINISHED[h.status] then changes.requested = "" end
  end
  return writeHeader(ctx, h, changes)
end
