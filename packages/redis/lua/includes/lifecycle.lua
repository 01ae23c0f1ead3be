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
  dropFinished(prefix, id, status, workflow)
  redis.call("ZREM", prefix .. "status:" .. status, id)
  redis.call("ZREM", prefix .. "due", id)
  redis.call("ZREM", prefix .. "timers", id)
  if workflow ~= nil and workflow ~= "" then
    redis.call("ZREM", prefix .. "wfstatus:" .. status .. ":" .. workflow, id)
  end
end

-- Removes every key and index entry of a run whose header `h` was just read.
local function dropRun(prefix, id, h)
  local keys = runDataKeys(prefix, id)
  keys[#keys + 1] = prefix .. "delivered:" .. id
  redis.call("DEL", unpack(keys))
  dropRunSets({ prefix = prefix, id = id })
  dropIndexEntries(prefix, id, h.status, h.workflow)
  redis.call("ZREM", prefix .. "expiring", expiringMember(id, h.status, h.workflow))
end

-- A key or key template split at "/".
local function keySegments(key)
  local out = {}
  for part in string.gmatch(key, "[^/]+") do out[#out + 1] = part end
  return out
end

-- A template segment against a key segment: "name[]" is any element of map "name", "name#" any iteration.
local function segmentMatches(t, k)
  if t == k then return true end
  local n = #t
  if string.sub(t, n - 1) == "[]" then
    return string.sub(k, 1, n - 1) == string.sub(t, 1, n - 1) and string.match(string.sub(k, n), "^%d+%]$") ~= nil
  end
  if string.sub(t, n) == "#" then
    return string.sub(k, 1, n) == t and string.match(string.sub(k, n + 1), "^%d+$") ~= nil
  end
  return false
end

local function templateMatches(t, segments)
  if #t ~= #segments then return false end
  for i = 1, #t do
    if not segmentMatches(t[i], segments[i]) then return false end
  end
  return true
end

--[[
  Which commit keys a set of definition nodes owns, as key templates (the rule
  of core's store/step-keys.ts): `refs` (JSON array) commit under the template,
  `loops` (JSON array) under "<template>#<n>". In a template "name[]" stands
  for any element of map "name" and "name#" for any loop iteration; any other
  segment only for itself. Returns a predicate over commit keys.
]]
local function stepKeySet(refsJson, loopsJson)
  local exact, refs, loops = {}, {}, {}
  for _, ref in ipairs(cjson.decode(refsJson)) do
    exact[ref] = true
    refs[#refs + 1] = keySegments(ref)
  end
  for _, ref in ipairs(cjson.decode(loopsJson)) do loops[#loops + 1] = keySegments(ref) end
  return function(key)
    if exact[key] then return true end
    local segments = keySegments(key)
    for _, t in ipairs(refs) do
      if templateMatches(t, segments) then return true end
    end
    local loop = string.match(segments[#segments], "^(.+)#%d+$")
    if loop == nil then return false end
    segments[#segments] = loop
    for _, t in ipairs(loops) do
      if templateMatches(t, segments) then return true end
    end
    return false
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
  still holds the run. `event` names the repair in the run's history.
]]
local function sendOn(ctx, h, waits, extra, event)
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
  return writeHeader(ctx, h, changes, event)
end
