/**
 * How every action on the dashboard goes, on a run or a schedule: it is asked
 * for, confirmed in a dialog that says what it will do (a destructive one
 * with a red button), performed, and its outcome told. A 401 asks for the
 * dashboard token, keeps it for the tab and performs the confirmed action again.
 */
import { useState } from "preact/hooks";
import { ApiRequestError, token } from "./api.js";

/** An action waiting for confirmation. */
export interface Pending {
  /** What the dialog asks: what the action does, and what cannot be undone. */
  readonly question: string;
  /** The action loses something (a run's outputs, the run itself): confirmed with a danger button. */
  readonly destructive?: boolean;
  /** Performs the action; resolves with the message to show. */
  readonly perform: () => Promise<string>;
}

type Outcome = { readonly ok: boolean; readonly text: string };

/** The state of one place's actions: at most one pending at a time. */
export interface ActionFlow {
  readonly pending: Pending | null;
  readonly busy: boolean;
  readonly outcome: Outcome | null;
  readonly askToken: boolean;
  /** Asks for confirmation of `pending`. */
  readonly ask: (pending: Pending) => void;
  readonly perform: (pending: Pending) => Promise<void>;
  readonly back: () => void;
}

/** Actions asked for in one place (a run's panel, a schedule's card). */
export function useActionFlow(): ActionFlow {
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [askToken, setAskToken] = useState(false);

  async function perform(p: Pending): Promise<void> {
    setBusy(true);
    setOutcome(null);
    try {
      const text = await p.perform();
      setOutcome({ ok: true, text });
      setPending(null);
      setAskToken(false);
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 401) {
        // Keep the confirmed action: it is performed again once a token is given.
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

  return {
    pending,
    busy,
    outcome,
    askToken,
    ask: (p) => {
      setOutcome(null);
      setPending(p);
    },
    perform,
    back: () => {
      setPending(null);
      setAskToken(false);
    },
  };
}

/** The confirmation dialog of `flow`'s pending action (with the token form after a 401), and its outcome. */
export function ConfirmPanel({ flow }: { flow: ActionFlow }) {
  const { pending, busy, outcome, askToken } = flow;
  return (
    <>
      {pending ? (
        <div class={pending.destructive ? "confirm destructive" : "confirm"} role="dialog" aria-label="Confirm action">
          <p>{pending.question}</p>
          {askToken ? <TokenForm submitLabel="Save token and confirm" onSaved={() => void flow.perform(pending)} /> : null}
          <div class="buttons">
            {!askToken ? (
              <button
                type="button"
                class={pending.destructive ? "danger-solid" : "primary"}
                disabled={busy}
                onClick={() => void flow.perform(pending)}
              >
                Confirm
              </button>
            ) : null}
            <button type="button" disabled={busy} onClick={flow.back}>
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
    </>
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
