--[[
  The store's clock: Redis TIME in milliseconds, so every deadline, lease and
  timestamp comes from one clock no matter which worker asks.

  Redis 7 replicates a script's effects by default; older servers need
  replicate_commands() before a script that read TIME may write, which every
  script run by EVAL does first (EVAL_PREAMBLE in scripts/generate-lua.mjs).
]]

-- The clock in ms, and in µs (a handover's version, see handoverVersion in header.lua), from one TIME.
local function nowMsUs()
  local t = redis.call("TIME")
  -- Arithmetic converts a string once; tonumber converts it twice (lua_isnumber, then lua_tonumber).
  local s, us = t[1] + 0, t[2] + 0
  return s * 1000 + math.floor(us / 1000), s * 1000000 + us
end

local function nowMs()
  return (nowMsUs())
end
