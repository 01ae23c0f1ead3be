/**
 * One run, kept live by the run's event stream: its header (with warnings and
 * its parent and child runs), its actions, and a list of sections (steps,
 * compensations, buffered signals, the timeline of its history). Each section
 * is a `Section`; a view that needs data core does not record yet is a section
 * added here then.
 */
import { paths, type DashboardMeta, type RunDetail } from "../shared/api.js";
import { Actions } from "./actions.js";
import { useLive } from "./api.js";
import { ErrorBox, Link, LiveDot, Problem, Section, StatusBadge } from "./components.js";
import { formatTime, relative, useNow } from "./format.js";
import { JsonView } from "./json-view.js";
import { runHref } from "./router.js";
import { Timeline } from "./timeline.js";
import { FlatSteps, Tree, type TreeContext } from "./tree.js";

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
      <Problem text={live.problem} />
      {!run && !live.problem ? <p class="muted">Loading…</p> : null}
      {run ? <RunBody run={run} meta={meta} now={now} /> : null}
    </main>
  );
}

function RunBody({ run, meta, now }: { run: RunDetail; meta: DashboardMeta; now: number }) {
  const ctx: TreeContext = { now, progress: run.progress };
  return (
    <div class="run-layout">
      <div class="run-main">
        <Summary run={run} now={now} />
        <Section id="steps" title="Steps">
          {run.tree ? (
            <Tree nodes={run.tree} ctx={ctx} />
          ) : (
            <>
              <p class="notice">
                {run.definition === "changed"
                  ? `This run started on another definition of "${run.workflow}" than the one loaded here (hash ${run.hash.slice(0, 12)}), so only its committed steps are listed.`
                  : `The dashboard has no definition of "${run.workflow}" (start it with --workflows <module>), so only the run's committed steps are listed.`}
              </p>
              <FlatSteps steps={run.steps} ctx={ctx} />
            </>
          )}
        </Section>
        {run.compensations.length > 0 ? (
          <Section id="compensations" title="Compensations">
            <Compensations run={run} />
          </Section>
        ) : null}
        {run.buffered.total > 0 ? (
          <Section id="buffered" title="Buffered signals">
            <BufferedSignals run={run} now={now} />
          </Section>
        ) : null}
        <Section id="timeline" title="Timeline">
          <Timeline events={run.history} now={now} />
        </Section>
      </div>
      <aside class="run-side">
        <Actions run={run} meta={meta} />
      </aside>
    </div>
  );
}

/** The run's header: what it is, where it stands, what it was given and gave back, and what is wrong with it. */
function Summary({ run, now }: { run: RunDetail; now: number }) {
  return (
    <section class="panel" aria-label="Run">
      {run.warnings.map((w) => (
        <p class="warning" role="alert" key={w.code} data-testid="run-warning">
          {w.message}
        </p>
      ))}
      <dl class="facts-grid">
        <dt>Workflow</dt>
        <dd>
          {run.workflow} <span class="muted">hash {run.hash.slice(0, 12)}</span>
        </dd>
        {run.parent ? (
          <>
            <dt>Parent run</dt>
            <dd>
              <Link href={runHref(run.parent.id)}>{run.parent.id}</Link> <span class="muted">at step {run.parent.key}</span>
            </dd>
          </>
        ) : null}
        {run.children.length > 0 ? (
          <>
            <dt>Child runs</dt>
            <dd>
              <ul class="plain" data-testid="child-runs">
                {run.children.map((c) => (
                  <li key={c.key}>
                    <Link href={runHref(c.id)}>{c.id}</Link> <span class="muted">from step {c.key}</span>
                  </li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        <dt>Started</dt>
        <dd>
          {formatTime(run.createdAt)} <span class="muted">({relative(run.createdAt, now)})</span>
        </dd>
        <dt>Updated</dt>
        <dd>
          {formatTime(run.updatedAt)} <span class="muted">({relative(run.updatedAt, now)})</span>
        </dd>
        {run.finishedAt !== null ? (
          <>
            <dt>Finished</dt>
            <dd data-testid="run-finished">
              {formatTime(run.finishedAt)} <span class="muted">({relative(run.finishedAt, now)})</span>
            </dd>
          </>
        ) : null}
        <dt>Version</dt>
        <dd data-testid="run-version">{run.version}</dd>
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
      <JsonView label="input" value={run.input} />
      {run.status === "completed" ? <JsonView label="result" value={run.output} /> : null}
      {run.error ? <ErrorBox error={run.error} /> : null}
    </section>
  );
}

/** What a failed run undid: each compensated step, or why it could not be undone. */
function Compensations({ run }: { run: RunDetail }) {
  return (
    <ul class="plain compensations">
      {run.compensations.map((c) => (
        <li key={c.key} data-testid={`compensation-${c.key}`}>
          <span class="step-id">{c.key}</span>{" "}
          {c.compensated ? <span class="badge state-committed">undone</span> : <span class="badge state-failed">not undone</span>}
          {c.error ? <ErrorBox error={c.error} /> : null}
        </li>
      ))}
    </ul>
  );
}

/** The signals sent to the run that no step has taken yet: the oldest few, each with when it was sent and its payload. */
function BufferedSignals({ run, now }: { run: RunDetail; now: number }) {
  const { signals, total, byName } = run.buffered;
  const names = Object.entries(byName).map(([name, count]) => `"${name}" ×${count}`);
  return (
    <>
      <p class="muted">
        {total} signal{total === 1 ? "" : "s"} sent and not taken by a step yet: {names.join(", ")}.
        {total > signals.length ? ` The oldest ${signals.length} are shown.` : ""}
      </p>
      <ul class="plain buffered-signals">
        {signals.map((signal, i) => (
          <li key={i} data-testid="buffered-signal">
            <span class="step-id">{signal.name}</span>{" "}
            <span class="muted">
              {signal.sentAt === null
                ? "sent before the oldest event the run keeps"
                : `sent ${formatTime(signal.sentAt)} (${relative(signal.sentAt, now)})`}{" "}
              · {signal.bytes} bytes
            </span>
            {"payload" in signal ? (
              <JsonView label="payload" value={signal.payload ?? null} />
            ) : (
              <p class="muted">The payload is too large to show here.</p>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
