/**
 * Signal definitions: a name with a payload type and, optionally, a Standard
 * Schema. One definition is given to `waitForSignal` (the payload type flows
 * to the next step) and to `client.signal` / `handle.signal` (the payload is
 * type-checked where it is sent, and validated before it is stored).
 */
import { ValidationError } from "../errors.js";
import { assertSchema, type SchemaInput, type SchemaOutput, type StandardSchemaV1 } from "../schema.js";
import { assertName } from "./task.js";

declare const payloadTypes: unique symbol;

/**
 * A signal: its `name` (what the store buffers it under) and, when given, the
 * schema its payload must pass. `In` is what a sender passes, `Out` what the
 * waiting step receives (the schema's output; the same type without a schema).
 */
export interface SignalDefinition<In = unknown, Out = In> {
  readonly kind: "signal";
  readonly name: string;
  readonly schema?: StandardSchemaV1;
  /** Type-level only: carries the payload types. */
  readonly [payloadTypes]?: { readonly in: (payload: In) => void; readonly out: Out };
}

/** Options of {@link defineSignal}. */
export interface DefineSignalOptions<S extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined> {
  /** Checks every payload before it is stored; the waiting step gets the schema's output. Not part of `workflow.hash`. */
  readonly schema?: S;
}

/** The payload type a sender passes for `signal`. */
export type SignalPayload<S> = S extends SignalDefinition<infer In, unknown> ? In : never;
/** The payload type the step after the wait receives. */
export type SignalOutput<S> = S extends SignalDefinition<never, infer Out> ? Out : never;

/**
 * Defines a signal whose payload is checked by a schema: senders pass what the
 * schema accepts, the step after the wait gets what it produces.
 * @throws ValidationError for an empty or malformed name, or a schema that is not a Standard Schema.
 */
export function defineSignal<S extends StandardSchemaV1>(
  name: string,
  options: DefineSignalOptions<S> & { readonly schema: S },
): SignalDefinition<SchemaInput<S>, SchemaOutput<S>>;
/** Defines a signal whose payload is `Payload`, unchecked at run time. */
export function defineSignal<Payload = unknown>(name: string, options?: DefineSignalOptions<undefined>): SignalDefinition<Payload>;
export function defineSignal(name: string, options: DefineSignalOptions = {}): SignalDefinition {
  assertName(name, "signal name");
  if (options === null || typeof options !== "object") throw new ValidationError(`signal "${name}": options must be an object`);
  const unknown = Object.keys(options).find((key) => key !== "schema");
  if (unknown !== undefined) {
    throw new ValidationError(`signal "${name}": unknown option ${JSON.stringify(unknown)} (use schema)`, { option: unknown });
  }
  if (options.schema !== undefined) assertSchema(options.schema, `signal "${name}": options.schema`);
  return Object.freeze({ kind: "signal", name, ...(options.schema === undefined ? {} : { schema: options.schema }) });
}

/** True for what {@link defineSignal} returns. */
export function isSignalDefinition(value: unknown): value is SignalDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { kind?: unknown }).kind === "signal" &&
    typeof (value as { name?: unknown }).name === "string"
  );
}
