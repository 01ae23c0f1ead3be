--[[
  The store's clock: Redis TIME in milliseconds, so every deadline, lease and
  timestamp comes from one clock no matter which worker asks.

  Redis 7 replicates a script's effects by default; older servers need
  replicate_commands() before a script that read TIME may write, which every
  script run by EVAL does first (EVAL_PREAMBLE in scripts/generate-lua.mjs).
]]

local function nowMs()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
