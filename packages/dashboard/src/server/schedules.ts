/**
 * Schedules for the dashboard: a page of `client.schedules.list` with each
 * schedule's next few ticks, and the actions pause, resume and trigger. The
 * ticks are computed from the cron expression here (core's `tickAfter`), so a
 * page costs one bounded list read of the store and nothing per schedule.
 */
import { assertScheduleId, tickAfter, type DurableClient, type ScheduleView } from "@parkway/core";
import type { ScheduleAction, ScheduleActionResult, ScheduleRow, SchedulesPage, SchedulesQuery } from "../shared/api.js";
import { toJsonValue } from "./json.js";
import { DEFAULT_SCHEDULES_PAGE_SIZE } from "./queries.js";

/** How many ticks ahead a schedule shows. */
export const NEXT_TICKS = 3;

/** A page of schedules, in id order. */
export async function schedulesPage(client: DurableClient, query: SchedulesQuery): Promise<SchedulesPage> {
  const page = await client.schedules.list({ ...query, limit: query.limit ?? DEFAULT_SCHEDULES_PAGE_SIZE });
  return { schedules: page.schedules.map(scheduleRow), cursor: page.cursor };
}

/** Pauses, resumes or triggers schedule `id`. @throws UnknownScheduleError, ValidationError (a malformed id) */
export async function performScheduleAction(client: DurableClient, id: string, action: ScheduleAction): Promise<ScheduleActionResult> {
  assertScheduleId(id);
  switch (action) {
    case "pause":
      return { ok: true, schedule: scheduleRow(await client.schedules.pause(id)), run: null, message: `schedule ${id} paused` };
    case "resume":
      return { ok: true, schedule: scheduleRow(await client.schedules.resume(id)), run: null, message: `schedule ${id} resumed` };
    case "trigger": {
      const run = await client.schedules.trigger(id);
      return { ok: true, schedule: scheduleRow(await client.schedules.get(id)), run, message: `schedule ${id} started run ${run}` };
    }
  }
}

/** A schedule as the dashboard shows it. */
export function scheduleRow(view: ScheduleView): ScheduleRow {
  const { input, nextTickAt, ...rest } = view;
  const nextTicks: number[] = [];
  for (let at = nextTickAt; at !== null && nextTicks.length < NEXT_TICKS; at = tickAfter(view, at)) nextTicks.push(at);
  return { ...rest, input: toJsonValue(input), nextTicks };
}
