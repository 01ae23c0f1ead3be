/**
 * Where Parkway's libraries say what they do: a pino-style logger given as the
 * `logger` option. Silent by default: a library writes nothing on its own; the
 * worker process and the CLI pass a pino logger.
 */
import { ValidationError } from "./errors.js";

/** A log method: `(fields, message)` or `(message)`, as pino, bunyan and winston's child loggers take them. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/** The part of a pino logger Parkway uses; a pino, bunyan or console-backed object fits. */
export interface Logger {
  trace?: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger adding `bindings` to every line (pino's `child`); without it the logger itself is used. */
  child?(bindings: Record<string, unknown>): Logger;
}

const noop: LogFn = () => undefined;

/** Drops every line: the default of every library entry point. */
export const silentLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/**
 * The `logger` option, checked; `bindings` are added to its lines when it has `child`.
 * @throws ValidationError naming `what` when a given logger lacks a method
 */
export function resolveLogger(logger: unknown, what: string, bindings?: Record<string, unknown>): Logger {
  if (logger === undefined) return silentLogger;
  const methods = ["debug", "info", "warn", "error"] as const;
  const missing = methods.find((m) => typeof (logger as Record<string, unknown> | null)?.[m] !== "function");
  if (typeof logger !== "object" || logger === null || missing !== undefined) {
    throw new ValidationError(
      `${what}: logger must have debug, info, warn and error methods (a pino-style logger), ${missing ? `it has no ${missing}` : `got ${typeof logger}`}`,
    );
  }
  const checked = logger as Logger;
  return bindings && typeof checked.child === "function" ? checked.child(bindings) : checked;
}
