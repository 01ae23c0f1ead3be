/** One run: its header, its actions and its continuation tree, kept live by the run's event stream. */
import { paths, type DashboardMeta, type RunDetail } from "../shared/api.js";
import { Actions } from "./actions.js";
import { useLive } from "./api.js";
import { ErrorBox, JsonBlock, Link, StatusBadge } from "./components.js";
import { formatTime, relative, useNow } from "./format.js";
import { FlatSteps, Tree } from "./tree.js";

/** The page of run `id`. */
export function RunPage({ id, meta }: { id: string; meta: DashboardMeta }) {
  const live = useLive(paths.runStream(id), "run");
  const now = useNow();
  const run = live.data;
  return (
    <main>
      <nav class="crumbs">
        <Link href="/">← All runs</Link>
      </nav>
      <h1 class="run-title">
        <span>Run</span> <code data-testid="run-id">{id}</code> {run ? <StatusBadge status={run.status} testId="run-status" /> : null}
        <LiveDot connected={live.connected} />
      </h1>
      {live.problem ? (
        <p class="problem" role="alert">
          {live.problem}
        </p>
      ) : null}
      {!run && !live.problem ? <p class="muted">Loading…</p> : null}
      {run ? <RunBody run={run} meta={meta} now={now} /> : null}
    </main>
  );
}

function RunBody({ run, meta, now }: { run: RunDetail; meta: DashboardMeta; now: number }) {
  return (
    <div class="run-layout">
      <div class="run-main">
        <section class="panel">
          <dl class="facts-grid">
            <dt>Workflow</dt>
            <dd>
              {run.workflow} <span class="muted">hash {run.hash.slice(0, 12)}</span>
            </dd>
            <dt>Started</dt>
            <dd>
              {formatTime(run.createdAt)} <span class="muted">({relative(run.createdAt, now)})</span>
            </dd>
            <dt>Updated</dt>
            <dd>
              {formatTime(run.updatedAt)} <span class="muted">({relative(run.updatedAt, now)})</span>
            </dd>
            <dt>Version</dt>
            <dd>{run.version}</dd>
            {run.dueAt !== null ? (
              <>
                <dt>Next due</dt>
                <dd>
                  {formatTime(run.dueAt)} <span class="muted">({relative(run.dueAt, now)})</span>
                </dd>
              </>
            ) : null}
            {run.requested ? (
              <>
                <dt>Requested</dt>
                <dd class="requested">{run.requested}, at the next step boundary</dd>
              </>
            ) : null}
          </dl>
          <JsonBlock label="input" value={run.input} />
          {run.status === "completed" ? <JsonBlock label="result" value={run.output} /> : null}
          {run.error ? <ErrorBox error={run.error} /> : null}
        </section>
        <section class="panel" aria-label="Steps">
          <h2>Steps</h2>
          {run.tree ? (
            <Tree nodes={run.tree} now={now} />
          ) : (
            <>
              <p class="notice">
                {run.definition === "changed"
                  ? `This run started on another definition of "${run.workflow}" than the one loaded here (hash ${run.hash.slice(0, 12)}), so only its committed steps are listed.`
                  : `The dashboard has no definition of "${run.workflow}" (start it with --workflows <module>), so only the run's committed steps are listed.`}
              </p>
              <FlatSteps steps={run.steps} />
            </>
          )}
        </section>
      </div>
      <aside class="run-side">
        <Actions run={run} meta={meta} />
      </aside>
    </div>
  );
}

/** Shows whether live updates are flowing. */
export function LiveDot({ connected }: { connected: boolean }) {
  return (
    <span class={connected ? "live on" : "live off"} title={connected ? "live: updates as the run moves" : "reconnecting"}>
      {connected ? "live" : "offline"}
    </span>
  );
}
