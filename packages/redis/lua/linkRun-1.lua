--[[
  Links a child run and its parent (`.child(...)` steps), one side per call:
  the parent and the child may live in two partitions, so each side is its
  own write on its own run's keys. Not a new version: the worker holding the
  run keeps writing with the version it has (as `requested` and `touch` do).

  "parent": records on the child the parent's id and step key, unless it has
  a parent already (the first link wins); answers the parent recorded.
  "child": records on the parent, under the step's commit key, the child's id
  (the header field `children`, a JSON object { [commitKey]: childId }).

  Input:
    KEYS[1] run header (hash)

    ARGV[1] "parent" | "child"
    ARGV[2] "parent": the link, JSON { id, key }; "child": the step's commit key
    ARGV[3] "child": the child's instance id

  Output:
    { 0, parent link JSON } for "parent"
    { 0 } for "child"

  Errors: -1 unknown instance, -4 corrupt header.
]]

if redis.call("EXISTS", KEYS[1]) == 0 then return { -1 } end
if ARGV[1] == "parent" then
  local existing = redis.call("HGET", KEYS[1], "parent")
  if existing then return { 0, existing } end
  redis.call("HSET", KEYS[1], "parent", ARGV[2])
  return { 0, ARGV[2] }
end
local raw = redis.call("HGET", KEYS[1], "children")
local children = {}
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok or type(decoded) ~= "table" then return { -4, "children" } end
  children = decoded
end
children[ARGV[2]] = ARGV[3]
redis.call("HSET", KEYS[1], "children", cjson.encode(children))
return { 0 }
