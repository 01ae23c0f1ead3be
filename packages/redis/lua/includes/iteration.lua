--[[
  A loop keeps only its last iteration: committing iteration n drops
  iteration n-1's output and attempts in the same write, so a loop of 10,000
  iterations costs what a loop of 2 does. `replaced` is nil or "" for a commit
  that replaces nothing.
]]
local function dropReplaced(outputsKey, attemptsKey, replaced)
  if replaced == nil or replaced == "" then return end
  redis.call("HDEL", outputsKey, replaced)
  redis.call("HDEL", attemptsKey, replaced)
end
