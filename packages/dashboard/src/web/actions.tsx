/**
 * The run page's actions. A live run: send a signal (name and JSON payload),
 * cancel, pause, resume. A failed or cancelled run: retry. Any run whose
 * definition is loaded: rewind to a committed step. A finished run: delete.
 * Each is confirmed first (see action-flow.tsx); the page shows its effect
 * through the live stream, except a delete, after which it goes to the list.
 */
import { useEffect, useState } from "preact/hooks";
import type { DashboardMeta, RunDetail, SignalRequest } from "../shared/api.js";
import { ConfirmPanel, useActionFlow, type ActionFlow } from "./action-flow.js";
import { postAction } from "./api.js";
import { navigate } from "./router.js";

const FINISHED = ["completed", "failed", "cancelled"];

/** The actions panel of run `run`. */
export function Actions({ run, meta }: { run: RunDetail; meta: DashboardMeta }) {
  const flow = useActionFlow();
  const finished = FINISHED.includes(run.status);
  const message = (p: Promise<{ message: string }>) => p.then((r) => r.message);
  const control =
    (action: "cancel" | "pause" | "resume" | "retry", question: string, destructive = false) =>
    () =>
      flow.ask({ question, destructive, perform: () => message(postAction(run.id, action)) });

  return (
    <section class="panel actions" aria-label="Actions">
      <h2>Actions</h2>
      {finished ? (
        <p class="muted">This run has finished: it can no longer be signalled, cancelled or paused.</p>
      ) : (
        <>
          <SignalForm run={run} meta={meta} flow={flow} />
          <div class="buttons">
            <button
              type="button"
              class="danger"
              disabled={flow.busy}
              onClick={control(
                "cancel",
                `Cancel run ${run.id}? A parked or paused run stops at once, a running one at its next step boundary. This cannot be undone.`,
                true,
              )}
            >
              Cancel run
            </button>
            <button
              type="button"
              disabled={flow.busy || run.status === "paused" || run.requested === "pause"}
              onClick={control("pause", `Pause run ${run.id}? It stops at its next step boundary (at once if parked) until resumed.`)}
            >
              Pause
            </button>
            <button
              type="button"
              disabled={flow.busy || (run.status !== "paused" && run.requested !== "pause")}
              onClick={control("resume", `Resume run ${run.id}?`)}
            >
              Resume
            </button>
          </div>
        </>
      )}
      {run.status === "failed" || run.status === "cancelled" ? (
        <div class="buttons">
          <button
            type="button"
            disabled={flow.busy}
            onClick={control(
              "retry",
              `Retry run ${run.id}? It goes on from the step that ${run.status === "failed" ? "failed" : "was interrupted"}, with that step's attempts reset; committed steps are not run again.`,
            )}
          >
            Retry
          </button>
        </div>
      ) : null}
      {run.rewindTargets.length > 0 ? <RewindForm run={run} flow={flow} /> : null}
      {finished ? (
        <div class="buttons">
          <button
            type="button"
            class="danger"
            disabled={flow.busy}
            onClick={() =>
              flow.ask({
                question: `Delete run ${run.id} now? Its steps, input, result and signals are removed. This cannot be undone.`,
                destructive: true,
                perform: async () => {
                  const text = await message(postAction(run.id, "delete"));
                  navigate("/");
                  return text;
                },
              })
            }
          >
            Delete run
          </button>
        </div>
      ) : null}
      <ConfirmPanel flow={flow} />
    </section>
  );
}

/** A signal's name (the one the run waits for, offered first) and its JSON payload. */
function SignalForm({ run, meta, flow }: { run: RunDetail; meta: DashboardMeta; flow: ActionFlow }) {
  const waitingSignal = run.waitingFor.find((w) => w.kind === "signal")?.signal;
  const [name, setName] = useState(waitingSignal ?? run.signals[0] ?? "");
  const [payloadText, setPayloadText] = useState("{}");
  // When the run starts waiting for a signal, offer that one.
  useEffect(() => {
    if (waitingSignal) setName((current) => current || waitingSignal);
  }, [waitingSignal]);
  const payload = parsePayload(payloadText, meta.maxBodyBytes);

  function askSignal(e: Event): void {
    e.preventDefault();
    if (!payload.ok || name.trim() === "") return;
    const body: SignalRequest = payload.value === undefined ? { name: name.trim() } : { name: name.trim(), payload: payload.value };
    flow.ask({
      question: `Send signal "${name.trim()}" with payload ${payloadText.trim()} to run ${run.id}?`,
      perform: () => postAction(run.id, "signal", body).then((r) => r.message),
    });
  }

  return (
    <form class="signal-form" onSubmit={askSignal}>
      <label>
        Signal name
        <input
          name="signal-name"
          list="signal-names"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          placeholder="signal name"
        />
        <datalist id="signal-names">
          {run.signals.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <label>
        Payload (JSON)
        <textarea
          name="signal-payload"
          rows={4}
          value={payloadText}
          onInput={(e) => setPayloadText(e.currentTarget.value)}
          aria-invalid={!payload.ok}
        />
      </label>
      {!payload.ok ? <p class="field-error">{payload.error}</p> : null}
      <button type="submit" disabled={flow.busy || !payload.ok || name.trim() === ""}>
        Send signal
      </button>
    </form>
  );
}

/** Picks a committed step to run again, with everything that depends on it. */
function RewindForm({ run, flow }: { run: RunDetail; flow: ActionFlow }) {
  const [to, setTo] = useState(run.rewindTargets[0]!);
  // A rewind drops steps: the chosen one may be gone from the list the next time it is drawn.
  const chosen = run.rewindTargets.includes(to) ? to : run.rewindTargets[0]!;
  return (
    <form
      class="rewind-form"
      onSubmit={(e) => {
        e.preventDefault();
        flow.ask({
          question: `Rewind run ${run.id} to step "${chosen}"? The output of that step and of every step that depends on it is dropped, and they run again. This cannot be undone.`,
          destructive: true,
          perform: () => postAction(run.id, "rewind", { to: chosen }).then((r) => r.message),
        });
      }}
    >
      <label>
        Rewind to step
        <select name="rewind-to" value={chosen} onChange={(e) => setTo(e.currentTarget.value)}>
          {run.rewindTargets.map((key) => (
            <option key={key} value={key}>
              {key}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={flow.busy}>
        Rewind
      </button>
    </form>
  );
}

type Parsed = { readonly ok: true; readonly value: SignalRequest["payload"] } | { readonly ok: false; readonly error: string };

/** Checks the payload before it is sent (the server checks again: this only saves a round trip). */
function parsePayload(text: string, maxBytes: number): Parsed {
  if (text.trim() === "") return { ok: true, value: undefined };
  if (new TextEncoder().encode(text).length > maxBytes) return { ok: false, error: `the payload is larger than ${maxBytes} bytes` };
  try {
    return { ok: true, value: JSON.parse(text) as SignalRequest["payload"] };
  } catch (error) {
    return { ok: false, error: `not valid JSON: ${(error as Error).message}` };
  }
}
