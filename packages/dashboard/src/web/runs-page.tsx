/**
 * The runs list: a search (id prefix, workflow, creation and finish time ranges, order)
 * and status tabs over `client.list`, cursor paging, and counts per status,
 * kept live by its event stream. The search lives in the URL, so a view can
 * be shared or reloaded.
 */
import { useState } from "preact/hooks";
import {
  RUN_STATUSES,
  RUNS_QUERY_TIMES,
  isRunStatus,
  runsQueryString,
  type DashboardMeta,
  type ListOrder,
  type RunsPage as Page,
  type RunsQuery,
} from "../shared/api.js";
import { runsStreamUrl, useLive } from "./api.js";
import { Link, LiveDot, Problem, StatusBadge } from "./components.js";
import { formatTime, fromLocalInput, relative, toLocalInput, useNow } from "./format.js";
import { navigate, runHref } from "./router.js";

/** The query a URL holds. What the server would refuse is left out here, so a hand-edited URL still shows a list. */
function queryOf(params: URLSearchParams): RunsQuery {
  const text = (name: string) => params.get(name) || undefined;
  const time = (name: string) => {
    const value = text(name);
    const ms = value === undefined ? Number.NaN : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  };
  const status = text("status");
  const order = text("order");
  const times = Object.fromEntries(RUNS_QUERY_TIMES.flatMap((name) => (time(name) === undefined ? [] : [[name, time(name)!]])));
  const query: RunsQuery = {
    ...(isRunStatus(status) ? { status } : {}),
    ...(text("workflow") ? { workflow: text("workflow")! } : {}),
    ...(text("idPrefix") ? { idPrefix: text("idPrefix")! } : {}),
    ...times,
    ...(order === "newest" || order === "oldest" ? { order } : {}),
    ...(text("cursor") ? { cursor: text("cursor")! } : {}),
  };
  return query;
}

function go(query: RunsQuery): void {
  const qs = runsQueryString(query);
  navigate(qs ? `/?${qs}` : "/");
}

/** The runs list page. */
export function RunsPage({ params, meta }: { params: URLSearchParams; meta: DashboardMeta }) {
  const query = queryOf(params);
  const live = useLive(runsStreamUrl(query), "runs");
  const now = useNow();
  const page = live.data;
  // A cursor belongs to one query: every change of the search starts again from the first page.
  const { cursor: _cursor, ...filters } = query;
  return (
    <main>
      <h1>
        Runs <LiveDot connected={live.connected} />
      </h1>
      <StatusTabs query={filters} page={page} />
      {query.idPrefix || RUNS_QUERY_TIMES.some((name) => query[name] !== undefined) ? (
        // Counts come from the status indexes (one read each), which know workflows but not ids or times.
        <p class="muted counts-note">
          Counts are of every run{query.workflow ? ` of ${query.workflow}` : ""}, not only of those the search finds.
        </p>
      ) : null}
      <Search key={runsQueryString(filters)} query={filters} meta={meta} />
      {query.finishedAfter !== undefined || query.finishedBefore !== undefined ? (
        <p class="muted counts-note">Only finished runs, by when they finished.</p>
      ) : null}
      <Problem text={live.problem} />
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

/** One tab per status with its count (of the workflow searched for, or of all), and "all". */
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

/** The labels of the search's time fields, one per time parameter of the query. */
const TIME_FIELDS: readonly { readonly name: (typeof RUNS_QUERY_TIMES)[number]; readonly label: string }[] = [
  { name: "createdAfter", label: "Created after" },
  { name: "createdBefore", label: "Created before" },
  { name: "finishedAfter", label: "Finished after" },
  { name: "finishedBefore", label: "Finished before" },
];

/** The search form; submitting it puts the search in the URL (keeping the status tab). */
function Search({ query, meta }: { query: RunsQuery; meta: DashboardMeta }) {
  const [idPrefix, setIdPrefix] = useState(query.idPrefix ?? "");
  const [workflow, setWorkflow] = useState(query.workflow ?? "");
  const [times, setTimes] = useState<Record<string, string>>(() =>
    Object.fromEntries(RUNS_QUERY_TIMES.map((name) => [name, query[name] === undefined ? "" : toLocalInput(query[name])])),
  );
  const [order, setOrder] = useState<ListOrder>(query.order ?? "newest");
  const searched = query.idPrefix || query.workflow || RUNS_QUERY_TIMES.some((name) => query[name] !== undefined) || query.order;
  return (
    <form
      class="filter"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        const bounds = RUNS_QUERY_TIMES.flatMap((name) => {
          const ms = fromLocalInput(times[name] ?? "");
          return ms === undefined ? [] : [[name, ms] as const];
        });
        go({
          ...(query.status ? { status: query.status } : {}),
          ...(idPrefix.trim() ? { idPrefix: idPrefix.trim() } : {}),
          ...(workflow.trim() ? { workflow: workflow.trim() } : {}),
          ...Object.fromEntries(bounds),
          // Newest first is the default: the URL says only what differs.
          ...(order === "oldest" ? { order } : {}),
        });
      }}
    >
      <label>
        Run id starts with
        <input name="idPrefix" value={idPrefix} placeholder="any" onInput={(e) => setIdPrefix(e.currentTarget.value)} />
      </label>
      <label>
        Workflow
        <input
          name="workflow"
          list="workflow-names"
          value={workflow}
          placeholder="any"
          onInput={(e) => setWorkflow(e.currentTarget.value)}
        />
        <datalist id="workflow-names">
          {meta.workflows.map((w) => (
            <option key={w.name} value={w.name} />
          ))}
        </datalist>
      </label>
      {TIME_FIELDS.map(({ name, label }) => (
        <label key={name}>
          {label}
          <input
            name={name}
            type="datetime-local"
            value={times[name]}
            onInput={(e) => {
              const value = e.currentTarget.value;
              setTimes((before) => ({ ...before, [name]: value }));
            }}
          />
        </label>
      ))}
      <label>
        Order
        <select name="order" value={order} onChange={(e) => setOrder(e.currentTarget.value === "oldest" ? "oldest" : "newest")}>
          <option value="newest">newest first</option>
          <option value="oldest">oldest first</option>
        </select>
      </label>
      <button type="submit" class="primary">
        Search
      </button>
      {searched ? (
        <button type="button" onClick={() => go(query.status ? { status: query.status } : {})}>
          Clear
        </button>
      ) : null}
    </form>
  );
}

function RunsTable({ page, now }: { page: Page; now: number }) {
  if (page.runs.length === 0) {
    // With an id prefix the store looks at a bounded number of runs per page: an empty page may have more after it.
    return <p class="muted empty">{page.cursor ? "No run matches on this page; the next page goes on looking." : "No runs match."}</p>;
  }
  return (
    <div class="table-scroll">
      <table class="runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Workflow</th>
            <th>Status</th>
            <th>Started</th>
            <th>Updated</th>
            <th>Finished</th>
            <th>Note</th>
          </tr>
        </thead>
        <tbody>
          {page.runs.map((r) => (
            <tr key={r.id} data-testid={`run-row-${r.id}`}>
              <td class="id-cell">
                <Link href={runHref(r.id)}>{r.id}</Link>
              </td>
              <td>{r.workflow}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td title={formatTime(r.createdAt)}>{relative(r.createdAt, now)}</td>
              <td title={formatTime(r.updatedAt)}>{relative(r.updatedAt, now)}</td>
              <td title={r.finishedAt === null ? "live" : formatTime(r.finishedAt)}>
                {r.finishedAt === null ? "" : relative(r.finishedAt, now)}
              </td>
              <td class="note">
                {r.error ? <span class="error-text">{r.error.message}</span> : r.dueAt !== null ? `due ${relative(r.dueAt, now)}` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
