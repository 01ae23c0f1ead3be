--[[
  A cancel or pause asked of a running run takes effect at its next step
  boundary: a cancel drops the step's output, a pause keeps it (`keep` writes
  it, and records its event) and keeps the run's waits, so deadlines stay fixed across the pause. Returns the "stopped" reply, or nil when nothing was requested.
  Mirrors MemoryStore.stopAtBoundary.
]]
local function stopAtBoundary(ctx, h, keep)
  if h.requested == "cancel" then
    local version = writeHeader(ctx, h, { status = "cancelled", waits = "[]", dueAt = "", requested = "" })
    return { 1, "cancelled", version }
  end
  if h.requested == "pause" then
    if keep then keep() end
    local version = writeHeader(ctx, h, { status = "paused", dueAt = "", requested = "" })
    return { 1, "paused", version }
  end
  return nil
end
