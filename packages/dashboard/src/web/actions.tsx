/**
 * The run page's actions: send a signal (name and JSON payload), cancel,
 * pause, resume. Each asks for confirmation first; the result is told here,
 * and the tree shows its effect through the live stream. A 401 asks for the
 * dashboard token, keeps it for the tab and retries the action.
 */
import { useEffect, useState } from "preact/hooks";
import type { DashboardMeta, RunAction, RunDetail, SignalRequest } from "../shared/api.js";
import { ApiRequestError, postAction, token } from "./api.js";

interface Pending {
  readonly action: RunAction;
  readonly body?: SignalRequest;
  readonly question: string;
}

type Outcome = { readonly ok: boolean; readonly text: string };

const FINISHED = ["completed", "failed", "cancelled"];

/** The actions panel of run `run`. */
export function Actions({ run, meta }: { run: RunDetail; meta: DashboardMeta }) {
  const waitingSignal = run.waitingFor.find((w) => w.kind === "signal")?.signal;
  const [name, setName] = useState(waitingSignal ?? run.signals[0] ?? "");
  const [payloadText, setPayloadText] = useState("{}");
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [askToken, setAskToken] = useState(false);

  // When the run starts waiting for a signal, offer that one.
  useEffect(() => {
    if (waitingSignal) setName((current) => current || waitingSignal);
  }, [waitingSignal]);

  const finished = FINISHED.includes(run.status);
  const payload = parsePayload(payloadText, meta.maxBodyBytes);

  async function perform(p: Pending): Promise<void> {
    setBusy(true);
    setOutcome(null);
    try {
      const result = await postAction(run.id, p.action, p.body);
      setOutcome({ ok: true, text: result.message });
      setPending(null);
      setAskToken(false);
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 401) {
        // Keep the confirmed action: it is retried once a token is given.
        setAskToken(true);
        setOutcome({ ok: false, text: error.message });
      } else {
        setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) });
        setPending(null);
      }
    } finally {
      setBusy(false);
    }
  }

  function ask(action: Exclude<RunAction, "signal">): void {
    const questions = {
      cancel: `Cancel run ${run.id}? A parked or paused run stops at once, a running one at its next step boundary. This cannot be undone.`,
      pause: `Pause run ${run.id}? It stops at its next step boundary (at once if parked) until resumed.`,
      resume: `Resume run ${run.id}?`,
    };
    setOutcome(null);
    setPending({ action, question: questions[action] });
  }

  function askSignal(e: Event): void {
    e.preventDefault();
    if (!payload.ok || name.trim() === "") return;
    setOutcome(null);
    setPending({
      action: "signal",
      body: payload.value === undefined ? { name: name.trim() } : { name: name.trim(), payload: payload.value },
      question: `Send signal "${name.trim()}" with payload ${payloadText.trim()} to run ${run.id}?`,
    });
  }

  return (
    <section class="panel actions" aria-label="Actions">
      <h2>Actions</h2>
      {finished ? (
        <p class="muted">This run has finished; nothing more can be done to it.</p>
      ) : (
        <>
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
            <button type="submit" disabled={busy || !payload.ok || name.trim() === ""}>
              Send signal
            </button>
          </form>
          <div class="buttons">
            <button type="button" class="danger" disabled={busy} onClick={() => ask("cancel")}>
              Cancel run
            </button>
            <button type="button" disabled={busy || run.status === "paused" || run.requested === "pause"} onClick={() => ask("pause")}>
              Pause
            </button>
            <button type="button" disabled={busy || (run.status !== "paused" && run.requested !== "pause")} onClick={() => ask("resume")}>
              Resume
            </button>
          </div>
        </>
      )}
      {pending ? (
        <div class="confirm" role="dialog" aria-label="Confirm action">
          <p>{pending.question}</p>
          {askToken ? <TokenForm submitLabel="Save token and confirm" onSaved={() => void perform(pending)} /> : null}
          <div class="buttons">
            {!askToken ? (
              <button type="button" class="primary" disabled={busy} onClick={() => void perform(pending)}>
                Confirm
              </button>
            ) : null}
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setPending(null);
                setAskToken(false);
              }}
            >
              Back
            </button>
          </div>
        </div>
      ) : null}
      {outcome ? (
        <p class={outcome.ok ? "outcome ok" : "outcome failed"} role="status">
          {outcome.text}
        </p>
      ) : null}
    </section>
  );
}

/** Asks for the dashboard token and keeps it for this tab. */
export function TokenForm({ onSaved, submitLabel }: { onSaved: () => void; submitLabel: string }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="token-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim() === "") return;
        token.set(value.trim());
        onSaved();
      }}
    >
      <label>
        Dashboard token
        <input name="token" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary">
        {submitLabel}
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
