--[[
  A loop keeps only its last iterations: a commit in iteration n drops the
  outputs, attempts and attempt records of the iterations it replaces (the
  worker names them, see core's `replacedKeys`) in the same write, so a loop of
  10,000 iterations costs what a loop of 2 does. `replaced` is a list, empty
  for a commit that replaces nothing.
]]
local function dropReplaced(ctx, outputsKey, replaced)
  if #replaced == 0 then return end
  deleteFields(outputsKey, replaced)
  dropStepFields(ctx, replaced)
end
