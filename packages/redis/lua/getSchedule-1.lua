--[[
  Reads a schedule with the store's clock, in one consistent read.

  Input:
    KEYS[1] schedule            (hash: state, input, version, dueAt, createdAt, updatedAt)

  Output:
    { 0, fields, now }   fields: the hash as field/value pairs (empty when there is no such schedule)

  Errors: none.
]]
-- @flags no-writes
-- @include "now"

return { 0, redis.call("HGETALL", KEYS[1]), nowMs() }
