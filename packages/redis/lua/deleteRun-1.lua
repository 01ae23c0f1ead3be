--[[
  Deletes a finished run now: its keys, signal buffers, delivery ids and every
  index entry. A live run is refused (cancel it first).

  Input:
    KEYS[1] run header          (hash)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id

  Output:
    { 0 }

  Errors: -1 unknown instance, -5 wrong status (the run is live).
]]
-- @include "header"
-- @include "waits"
-- @include "lifecycle"

local prefix, id = ARGV[1], ARGV[2]
local h = loadHeader(KEYS[1])
if not h then return { -1 } end
if not FINISHED[h.status] then return { -5, h.status or "" } end
dropRun(prefix, id, h)
return { 0 }
