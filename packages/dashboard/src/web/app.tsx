/** The dashboard's frame: header, navigation, token control and the page of the current route. */
import { useEffect, useState } from "preact/hooks";
import type { DashboardMeta } from "../shared/api.js";
import { TokenForm } from "./action-flow.js";
import { closeSession, fetchMeta, openSession, token, useHasToken } from "./api.js";
import { Link } from "./components.js";
import { useRoute, type Route } from "./router.js";
import { RunPage } from "./run-page.js";
import { RunsPage } from "./runs-page.js";
import { SchedulesPage } from "./schedules-page.js";
import { WorkersPage } from "./workers-page.js";

/** The whole dashboard. */
export function App() {
  const route = useRoute();
  const [meta, setMeta] = useState<DashboardMeta | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const loadMeta = () => fetchMeta().then(setMeta, (error: Error) => setProblem(error.message));
  useEffect(() => void loadMeta(), []);
  const locked = meta !== null && meta.readTokenRequired && !meta.readAuthorized;
  return (
    <>
      <header class="topbar">
        <Link href="/" class="brand">
          Parkway
        </Link>
        <nav class="pages" aria-label="Pages">
          <Link href="/" current={route.page === "runs" || route.page === "run"}>
            Runs
          </Link>
          <Link href="/workers" current={route.page === "workers"}>
            Workers
          </Link>
          <Link href="/schedules" current={route.page === "schedules"}>
            Schedules
          </Link>
        </nav>
        {meta ? (
          <span class="engine">{meta.engine === "redis" ? `Redis · namespace ${meta.namespace ?? ""}` : "embedded demo engine"}</span>
        ) : null}
        {meta?.tokenRequired ? <TokenControl /> : null}
        {meta?.readTokenRequired && meta.readAuthorized ? (
          <button type="button" onClick={() => void closeSession().then(loadMeta)}>
            Lock dashboard
          </button>
        ) : null}
      </header>
      {problem ? (
        <p class="problem" role="alert">
          The dashboard server did not answer: {problem}
        </p>
      ) : null}
      {locked ? <ReadTokenGate onOpened={() => void loadMeta()} /> : meta ? <Page route={route} meta={meta} /> : null}
    </>
  );
}

function Page({ route, meta }: { route: Route; meta: DashboardMeta }) {
  switch (route.page) {
    case "run":
      return <RunPage key={route.id} id={route.id} meta={meta} />;
    case "workers":
      return <WorkersPage meta={meta} />;
    case "schedules":
      return <SchedulesPage params={route.params} />;
    case "runs":
      return <RunsPage params={route.params} meta={meta} />;
  }
}

/** Shows whether this tab holds the action token, and lets it be set or forgotten. */
function TokenControl() {
  const saved = useHasToken();
  const [editing, setEditing] = useState(false);
  if (editing) {
    return (
      <span class="token-control">
        <TokenForm submitLabel="Save token" onSaved={() => setEditing(false)} />
      </span>
    );
  }
  return (
    <span class="token-control">
      {saved ? "token set for this tab" : "actions need a token"}{" "}
      {saved ? (
        <button type="button" onClick={() => token.clear()}>
          Forget token
        </button>
      ) : (
        <button type="button" onClick={() => setEditing(true)}>
          Set token
        </button>
      )}
    </span>
  );
}

/** Asks for the read token before anything is read; the server keeps the session in an HttpOnly cookie. */
function ReadTokenGate({ onOpened }: { onOpened: () => void }) {
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <main>
      <form
        class="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim() === "") return;
          openSession(value.trim()).then(onOpened, (error: Error) => setProblem(error.message));
        }}
      >
        <p>This dashboard needs its read token to show runs.</p>
        <label>
          Read token
          <input name="read-token" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary">
          Open dashboard
        </button>
        {problem ? (
          <p class="problem" role="alert">
            {problem}
          </p>
        ) : null}
      </form>
    </main>
  );
}
