/** Small pieces the pages share. Text is always rendered as text: Preact escapes it. */
import type { ComponentChildren } from "preact";
import type { RunStatus, SerializedError, StepState } from "../shared/api.js";
import { jsonText } from "./format.js";
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

/** A link inside the dashboard, followed without a reload. */
export function Link({ href, children, class: className }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} onClick={onLinkClick} class={className}>
      {children}
    </a>
  );
}

/** A value as JSON: on one line when short, else folded behind `label` with its one-line start as a preview. */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  const line = JSON.stringify(value) ?? "—";
  if (line.length <= 80) {
    return (
      <div class="json-inline">
        <span class="muted">{label}</span> <code>{line}</code>
      </div>
    );
  }
  return (
    <details class="json">
      <summary>
        <span class="muted">{label}</span> <code>{line.slice(0, 64)}…</code>
      </summary>
      <pre>{jsonText(value)}</pre>
    </details>
  );
}

/** A stored error: name, code, message, and its stack and causes folded. */
export function ErrorBox({ error }: { error: SerializedError }) {
  return (
    <div class="error-box" role="alert">
      <strong>{error.name}</strong>
      {error.code ? <span class="muted"> ({error.code})</span> : null}
      {error.step ? <span class="muted"> at step {error.step}</span> : null}: {error.message}
      {error.stack || error.cause ? (
        <details>
          <summary>details</summary>
          {error.stack ? <pre>{error.stack}</pre> : null}
          {error.cause ? <ErrorBox error={error.cause} /> : null}
        </details>
      ) : null}
    </div>
  );
}
