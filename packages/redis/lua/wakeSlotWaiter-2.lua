--[[
  Makes a run parked on a slot wait of one limit due now: the run's half of a grant (the limit's
  half, releaseSlot-3.lua, granted it a slot under the limit's hash tag). Nothing else of the run
  changes; its worker's admit finds the slot granted.

  Input:
    KEYS[1] run header  (hash)
    KEYS[2] due index   (sorted set, score dueAt)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] limit key

  Output:
    { 0, "woke", version }
    { 0, "running" }   pending or running: not parked yet (the caller wakes it again a little later)
    { 0, "gone" }      unknown, finished, paused, or parked on something else (its grant goes back)

  Errors: none (a corrupt header answers "gone").
]]
-- @include "now"
-- @include "header"
-- @include "waits"

local ctx = { prefix = ARGV[1], id = ARGV[2], headerKey = KEYS[1], dueKey = KEYS[2] }
local h = loadHeader(ctx.headerKey)
if not h or tonumber(h.version) == nil then return { 0, "gone" } end
if h.status == "running" or h.status == "pending" then return { 0, "running" } end
if h.status ~= "parked" then return { 0, "gone" } end
local waits, werr = decodeWaits(h)
if werr then return { 0, "gone" } end
local mark = "#slot=" .. ARGV[3]
local waiting = false
for _, w in ipairs(waits) do
  if w.kind == "timer" and w.reason == "slot" and string.sub(w.key, -#mark) == mark then waiting = true end
end
if not waiting then return { 0, "gone" } end
ctx.now = nowMs()
return { 0, "woke", writeHeader(ctx, h, { dueAt = num(ctx.now) }) }
