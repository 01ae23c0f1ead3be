/** The dashboard's frame: header, token control and the page of the current route. */
import { useEffect, useState } from "preact/hooks";
import type { DashboardMeta } from "../shared/api.js";
import { fetchMeta, token, useHasToken } from "./api.js";
import { TokenForm } from "./actions.js";
import { Link } from "./components.js";
import { useRoute } from "./router.js";
import { RunPage } from "./run-page.js";
import { RunsPage } from "./runs-page.js";

/** The whole dashboard. */
export function App() {
  const route = useRoute();
  const [meta, setMeta] = useState<DashboardMeta | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    fetchMeta().then(setMeta, (error: Error) => setProblem(error.message));
  }, []);
  return (
    <>
      <header class="topbar">
        <Link href="/" class="brand">
          Parkway
        </Link>
        {meta ? (
          <span class="engine">{meta.engine === "redis" ? `Redis · namespace ${meta.namespace ?? ""}` : "embedded demo engine"}</span>
        ) : null}
        {meta?.tokenRequired ? <TokenControl /> : null}
      </header>
      {problem ? (
        <p class="problem" role="alert">
          The dashboard server did not answer: {problem}
        </p>
      ) : null}
      {meta ? (
        route.page === "run" ? (
          <RunPage key={route.id} id={route.id} meta={meta} />
        ) : (
          <RunsPage params={route.params} meta={meta} />
        )
      ) : null}
    </>
  );
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
