/**
 * The cron schedules (`client.schedules.list`), a page at a time in id order,
 * each with its next ticks, the run it started last and its actions: pause,
 * resume, and trigger (start a run now). Kept live by its event stream.
 */
import { schedulesQueryString, type ScheduleAction, type ScheduleRow, type SchedulesQuery } from "../shared/api.js";
import { ConfirmPanel, useActionFlow } from "./action-flow.js";
import { postScheduleAction, schedulesStreamUrl, useLive } from "./api.js";
import { Link, LiveDot, Problem } from "./components.js";
import { formatTime, relative, useNow } from "./format.js";
import { JsonView } from "./json-view.js";
import { navigate, runHref } from "./router.js";

function go(query: SchedulesQuery): void {
  const qs = schedulesQueryString(query);
  navigate(qs ? `/schedules?${qs}` : "/schedules");
}

/** The schedules page; its page cursor lives in the URL. */
export function SchedulesPage({ params }: { params: URLSearchParams }) {
  const cursor = params.get("cursor") || undefined;
  const live = useLive(schedulesStreamUrl(cursor ? { cursor } : {}), "schedules");
  const now = useNow();
  const page = live.data;
  return (
    <main>
      <h1>
        Schedules <LiveDot connected={live.connected} />
      </h1>
      <Problem text={live.problem} />
      {!page ? (
        <p class="muted">Loading…</p>
      ) : page.schedules.length === 0 ? (
        <p class="muted empty">No schedules.</p>
      ) : (
        <div class="cards">
          {page.schedules.map((s) => (
            <ScheduleCard key={s.id} schedule={s} now={now} />
          ))}
        </div>
      )}
      <div class="paging">
        {cursor ? (
          <button type="button" onClick={() => go({})}>
            ← First page
          </button>
        ) : null}
        {page?.cursor ? (
          <button type="button" onClick={() => go({ cursor: page.cursor! })}>
            Next page →
          </button>
        ) : null}
      </div>
    </main>
  );
}

const QUESTIONS: Record<ScheduleAction, (id: string) => string> = {
  pause: (id) => `Pause schedule ${id}? Its ticks start no run until it is resumed (a trigger still does).`,
  resume: (id) => `Resume schedule ${id}? It starts runs again from its next tick; ticks missed while paused never run.`,
  trigger: (id) => `Start a run of schedule ${id} now, whatever its overlap policy and even while paused?`,
};

function ScheduleCard({ schedule: s, now }: { schedule: ScheduleRow; now: number }) {
  const flow = useActionFlow();
  const ask = (action: ScheduleAction) => () =>
    flow.ask({ question: QUESTIONS[action](s.id), perform: () => postScheduleAction(s.id, action).then((r) => r.message) });
  return (
    <section class="panel schedule" aria-label={`Schedule ${s.id}`} data-testid={`schedule-${s.id}`}>
      <h2>
        <code>{s.id}</code> {s.paused ? <span class="badge status-paused">paused</span> : <span class="badge status-running">active</span>}
      </h2>
      <dl class="facts-grid">
        <dt>Workflow</dt>
        <dd>{s.workflow}</dd>
        <dt>Cron</dt>
        <dd>
          <code>{s.cron}</code> <span class="muted">{s.timezone ?? "UTC"}</span>
        </dd>
        <dt>Policies</dt>
        <dd>
          overlap {s.overlap}, catch-up {s.catchup}
          {s.skipped > 0 ? <span class="muted"> · {s.skipped} ticks skipped</span> : null}
        </dd>
        <dt>Next ticks</dt>
        <dd data-testid="next-ticks">
          {s.nextTicks.length === 0 ? (
            <span class="muted">{s.paused ? "none while paused" : "none: the expression has no more"}</span>
          ) : (
            <ul class="plain">
              {s.nextTicks.map((at) => (
                <li key={at}>
                  {formatTime(at)} <span class="muted">({relative(at, now)})</span>
                </li>
              ))}
            </ul>
          )}
        </dd>
        {s.bufferedTickAt !== null ? (
          <>
            <dt>Buffered</dt>
            <dd>tick of {formatTime(s.bufferedTickAt)}, once the last run finishes</dd>
          </>
        ) : null}
        <dt>Last run</dt>
        <dd data-testid="last-run">
          {s.lastRun ? <Link href={runHref(s.lastRun)}>{s.lastRun}</Link> : <span class="muted">none yet</span>}
        </dd>
      </dl>
      <JsonView label="input" value={s.input} />
      <div class="buttons">
        {s.paused ? (
          <button type="button" disabled={flow.busy} onClick={ask("resume")}>
            Resume
          </button>
        ) : (
          <button type="button" disabled={flow.busy} onClick={ask("pause")}>
            Pause
          </button>
        )}
        <button type="button" disabled={flow.busy} onClick={ask("trigger")}>
          Trigger now
        </button>
      </div>
      <ConfirmPanel flow={flow} />
    </section>
  );
}
