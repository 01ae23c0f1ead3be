--[[
  Reads the signals buffered for a run and not taken yet, for status(): per
  name, how many, and the oldest ARGV[3] of them, each its size and its bytes
  when no larger than ARGV[4]. A read only: nothing a signal's sending or
  taking writes is for it. Buffer keys are derived from the prefix and the id
  as keys.ts and header.lua derive them (the id's byte length spelled first).

  Input:
    KEYS[1] names of the run's buffered signals (set, signames:<id>)

    ARGV[1] key prefix "{ns}:"
    ARGV[2] run id
    ARGV[3] most signals to read per name
    ARGV[4] largest payload to send back whole, in bytes

  Output:
    { 0, { name, count, { size, payload or false }, ... }, ... }   one entry per name with a signal buffered

  Errors: none.
]]
-- @flags no-writes
local prefix, id, limit, previewBytes = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local reply = { 0 }
for _, name in ipairs(redis.call("SMEMBERS", KEYS[1])) do
  local key = prefix .. "sig:" .. #id .. ":" .. id .. ":" .. name
  local count = redis.call("LLEN", key)
  if count > 0 then
    local oldest = {}
    if limit > 0 then
      for _, payload in ipairs(redis.call("LRANGE", key, 0, limit - 1)) do
        oldest[#oldest + 1] = { #payload, #payload <= previewBytes and payload or false }
      end
    end
    reply[#reply + 1] = { name, count, oldest }
  end
end
return reply
