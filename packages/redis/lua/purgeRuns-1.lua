--[[
  One bounded batch of a purge: walks `batch` entries of one finished status's
  index from `offset` (by rank) and deletes each run that matches, as deleteRun
  does. Runs kept stay before the next offset, so the walk goes on from
  `offset + kept`; an entry whose header is gone (expired, not yet trimmed) or
  says another status, or another workflow than a workflow's index holds (a run
  started again under the id of one whose entries were not trimmed yet), is
  dropped from this index, and that run is not touched.

  Input:
    KEYS[1] index to walk: status:<status> or wfstatus:<status>:<workflow> (sorted set)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] the finished status the index holds
    ARGV[3] finished before (store ms; "" for any time): finishedAt, or updatedAt for a run
            that finished before finishedAt was recorded
    ARGV[4] offset (rank) to start at
    ARGV[5] most entries to look at
    ARGV[6] the workflow the index holds, or "" for an index of every workflow

  Output:
    { 0, deleted, next offset or -1 when the index is walked }

  Errors: none.
]]
-- @include "header"
-- @include "waits"
-- @include "lifecycle"

local prefix, status, workflow = ARGV[1], ARGV[2], ARGV[6]
local before, offset, batch = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ids = redis.call("ZRANGE", KEYS[1], offset, offset + batch - 1)
local deleted, kept = 0, 0
for _, id in ipairs(ids) do
  local h = loadHeader(prefix .. "run:" .. id)
  if not h or h.status ~= status or (workflow ~= "" and h.workflow ~= workflow) then
    redis.call("ZREM", KEYS[1], id)
  elseif before == nil or (tonumber(h.finishedAt) or tonumber(h.updatedAt) or 0) < before then
    dropRun(prefix, id, h)
    deleted = deleted + 1
  else
    kept = kept + 1
  end
end
if #ids < batch then return { 0, deleted, -1 } end
return { 0, deleted, offset + kept }
