/** The runs list: filters by status and workflow, cursor paging and counts per status, kept live by its event stream. */
import { useState } from "preact/hooks";
import { RUN_STATUSES, isRunStatus, runsQueryString, type DashboardMeta, type RunsPage as Page, type RunsQuery } from "../shared/api.js";
import { runsStreamUrl, useLive } from "./api.js";
import { Link, StatusBadge } from "./components.js";
import { formatTime, relative, useNow } from "./format.js";
import { navigate, runHref } from "./router.js";
import { LiveDot } from "./run-page.js";

function queryOf(params: URLSearchParams): RunsQuery {
  const status = params.get("status");
  const workflow = params.get("workflow");
  const cursor = params.get("cursor");
  return {
    ...(isRunStatus(status) ? { status } : {}),
    ...(workflow ? { workflow } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

function go(query: RunsQuery): void {
  const qs = runsQueryString(query);
  navigate(qs ? `/?${qs}` : "/");
}

/** The runs list page; its filters and cursor live in the URL, so a view can be shared or reloaded. */
export function RunsPage({ params, meta }: { params: URLSearchParams; meta: DashboardMeta }) {
  const query = queryOf(params);
  const live = useLive(runsStreamUrl(query), "runs");
  const now = useNow();
  const page = live.data;
  const { cursor: _cursor, ...filters } = query;
  return (
    <main>
      <h1>
        Runs <LiveDot connected={live.connected} />
      </h1>
      <StatusTabs query={filters} page={page} />
      <WorkflowFilter query={filters} meta={meta} />
      {live.problem ? (
        <p class="problem" role="alert">
          {live.problem}
        </p>
      ) : null}
      {page ? <RunsTable page={page} now={now} /> : <p class="muted">Loading…</p>}
      <div class="paging">
        {query.cursor ? (
          <button type="button" onClick={() => go(filters)}>
            ← First page
          </button>
        ) : null}
        {page?.cursor ? (
          <button type="button" onClick={() => go({ ...filters, cursor: page.cursor! })}>
            Next page →
          </button>
        ) : null}
      </div>
    </main>
  );
}

function StatusTabs({ query, page }: { query: RunsQuery; page: Page | null }) {
  const total = page ? RUN_STATUSES.reduce((sum, s) => sum + page.counts[s], 0) : null;
  const { status: _status, ...rest } = query;
  return (
    <div class="tabs" role="tablist" aria-label="Filter by status">
      <button type="button" role="tab" aria-selected={!query.status} onClick={() => go(rest)}>
        all <span class="count">{total === null ? "…" : total}</span>
      </button>
      {RUN_STATUSES.map((s) => (
        <button
          type="button"
          role="tab"
          key={s}
          aria-selected={query.status === s}
          class={`tab-${s}`}
          data-testid={`count-${s}`}
          onClick={() => go({ ...rest, status: s })}
        >
          {s} <span class="count">{page ? page.counts[s] : "…"}</span>
        </button>
      ))}
    </div>
  );
}

function WorkflowFilter({ query, meta }: { query: RunsQuery; meta: DashboardMeta }) {
  const [text, setText] = useState(query.workflow ?? "");
  return (
    <form
      class="filter"
      onSubmit={(e) => {
        e.preventDefault();
        const { workflow: _workflow, ...rest } = query;
        go(text.trim() ? { ...rest, workflow: text.trim() } : rest);
      }}
    >
      <label>
        Workflow
        <input name="workflow" list="workflow-names" value={text} placeholder="any" onInput={(e) => setText(e.currentTarget.value)} />
        <datalist id="workflow-names">
          {meta.workflows.map((w) => (
            <option key={w.name} value={w.name} />
          ))}
        </datalist>
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

function RunsTable({ page, now }: { page: Page; now: number }) {
  if (page.runs.length === 0) return <p class="muted empty">No runs match.</p>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Run</th>
          <th>Workflow</th>
          <th>Status</th>
          <th>Started</th>
          <th>Updated</th>
          <th>Note</th>
        </tr>
      </thead>
      <tbody>
        {page.runs.map((r) => (
          <tr key={r.id} data-testid={`run-row-${r.id}`}>
            <td>
              <Link href={runHref(r.id)}>{r.id}</Link>
            </td>
            <td>{r.workflow}</td>
            <td>
              <StatusBadge status={r.status} />
            </td>
            <td title={formatTime(r.createdAt)}>{relative(r.createdAt, now)}</td>
            <td title={formatTime(r.updatedAt)}>{relative(r.updatedAt, now)}</td>
            <td class="note">
              {r.error ? <span class="error-text">{r.error.message}</span> : r.dueAt !== null ? `due ${relative(r.dueAt, now)}` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
