/** Small pieces the pages share. Text is always rendered as text: Preact escapes it. */
import type { ComponentChildren } from "preact";
import type { JsonValue, RunStatus, SerializedError, StepState } from "../shared/api.js";
import { JsonView } from "./json-view.js";
import { onLinkClick } from "./router.js";

/** A run's status as a coloured badge. */
export function StatusBadge({ status, testId }: { status: RunStatus; testId?: string }) {
  return (
    <span class={`badge status-${status}`} data-testid={testId}>
      {status}
    </span>
  );
}

/** A step's state as a coloured badge. */
export function StateBadge({ state }: { state: StepState }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

/** A link inside the dashboard, followed without a reload; `current` marks the page the browser is on. */
export function Link({
  href,
  children,
  class: className,
  current,
}: {
  href: string;
  children: ComponentChildren;
  class?: string;
  current?: boolean;
}) {
  return (
    <a href={href} onClick={onLinkClick} class={className} aria-current={current ? "page" : undefined}>
      {children}
    </a>
  );
}

/** A stored error: name, code, message, and its stack, context and causes folded. */
export function ErrorBox({ error }: { error: SerializedError }) {
  return (
    <div class="error-box" role="alert">
      <strong>{error.name}</strong>
      {error.code ? <span class="muted"> ({error.code})</span> : null}
      {error.step ? <span class="muted"> at step {error.step}</span> : null}: {error.message}
      {error.stack || error.cause || error.context ? (
        <details>
          <summary>details</summary>
          {error.context ? <JsonView label="context" value={error.context as JsonValue} /> : null}
          {error.stack ? <pre>{error.stack}</pre> : null}
          {error.cause ? <ErrorBox error={error.cause} /> : null}
        </details>
      ) : null}
    </div>
  );
}

/** Shows whether live updates are flowing. */
export function LiveDot({ connected }: { connected: boolean }) {
  return (
    <span class={connected ? "live on" : "live off"} title={connected ? "live: updates as things change" : "reconnecting"}>
      {connected ? "live" : "offline"}
    </span>
  );
}

/** A stream's or request's problem, said where the page shows it. */
export function Problem({ text }: { text: string | null }) {
  return text ? (
    <p class="problem" role="alert">
      {text}
    </p>
  ) : null;
}

/**
 * One section of a page: a titled card. The run page is a list of these, so a new view of a run
 * (a timeline, step durations) is one more section, not a change to the others.
 */
export function Section({ id, title, children }: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section class="panel" aria-label={title} data-testid={`section-${id}`}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
