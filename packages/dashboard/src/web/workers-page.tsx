/** The live workers (`client.workers()`): what each serves and when it last said it is alive, kept live by its event stream. */
import { paths, type DashboardMeta, type WorkerInfo } from "../shared/api.js";
import { useLive } from "./api.js";
import { LiveDot, Problem } from "./components.js";
import { formatTime, relative, useNow } from "./format.js";

/** The workers page. */
export function WorkersPage({ meta }: { meta: DashboardMeta }) {
  const live = useLive(paths.workersStream, "workers");
  const now = useNow();
  const workers = live.data?.workers;
  return (
    <main>
      <h1>
        Workers <LiveDot connected={live.connected} />
      </h1>
      <Problem text={live.problem} />
      {!workers ? (
        <p class="muted">Loading…</p>
      ) : workers.length === 0 ? (
        <p class="notice empty">No live worker{meta.namespace ? ` in namespace ${meta.namespace}` : ""}: runs wait until one starts.</p>
      ) : (
        <WorkersTable workers={workers} now={now} />
      )}
    </main>
  );
}

function WorkersTable({ workers, now }: { workers: readonly WorkerInfo[]; now: number }) {
  return (
    <div class="table-scroll">
      <table class="runs workers">
        <thead>
          <tr>
            <th>Worker</th>
            <th>Host</th>
            <th>PID</th>
            <th>Workflows</th>
            <th>Concurrency</th>
            <th>Started</th>
            <th>Last heartbeat</th>
            <th>Version</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <tr key={w.id} data-testid={`worker-row-${w.id}`}>
              <td class="id-cell">
                <code>{w.id}</code>
              </td>
              <td>{w.host}</td>
              <td>{w.pid}</td>
              <td>
                <ul class="plain">
                  {w.workflows.map((wf) => (
                    <li key={`${wf.name}@${wf.hash}`} data-testid={`worker-workflow-${wf.name}`}>
                      {wf.name}{" "}
                      <code class="muted" title={wf.hash}>
                        {wf.hash.slice(0, 12)}
                      </code>
                    </li>
                  ))}
                </ul>
              </td>
              <td>
                {w.concurrency} runs, {w.stepConcurrency} steps
              </td>
              <td title={formatTime(w.startedAt)}>{relative(w.startedAt, now)}</td>
              <td title={formatTime(w.heartbeatAt)}>{relative(w.heartbeatAt, now)}</td>
              <td>{w.version}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
