--[[
  Registers a worker, or renews its registration (its heartbeat): one small
  write per worker per heartbeat, nothing per run. The registration lapses on
  its own `ttl` ms after the last heartbeat, so a killed worker disappears.
  Registrations that lapsed are dropped from the index here too, so it holds
  about as many entries as there are live workers.

  Input:
    KEYS[1] the registry "{ns}:workers" (sorted set: worker id -> lapses at)
    KEYS[2] the worker's hash "{ns}:worker:<id>"

    ARGV[1] the worker's id
    ARGV[2] what it registers (JSON, opaque here)
    ARGV[3] ttl in ms
    ARGV[4] when it first registered (store time), or "" the first time

  Output:
    { 0, now }   now is the store's clock: the heartbeat's time

  Errors: none.
]]
-- @include "now"
local now = nowMs()
local ttl = tonumber(ARGV[3])
local startedAt = ARGV[4] ~= "" and ARGV[4] or string.format("%.17g", now)
redis.call("HSET", KEYS[2], "info", ARGV[2], "startedAt", startedAt, "heartbeatAt", string.format("%.17g", now))
redis.call("PEXPIRE", KEYS[2], ttl)
redis.call("ZADD", KEYS[1], string.format("%.17g", now + ttl), ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", string.format("%.17g", now))
return { 0, now }
