/**
 * Flow control options: concurrency and rate limits of a workflow or a task, and a run's
 * priority. They are policy, not shape: like schemas and functions they stay out of
 * `workflow.hash`, so changing a limit keeps every parked run's definition.
 */
import { type Duration, toMs } from "../duration.js";
import { ValidationError } from "../errors.js";
import { checkOptions, optionNames } from "../options.js";

/** A function of the step's (or run's) input naming the group a limit counts in: a customer, a tenant, an API. */
export type LimitKeyFn<In = never> = (input: In) => string;

/** At most `limit` at once: runs executing steps (on a flow), or executions of a task (on a task). */
export interface ConcurrencyLimit<In = never> {
  /** An integer from 1 to {@link MAX_LIMIT}. */
  readonly limit: number;
  /** One limit per key; without it the limit is global to the workflow or task. */
  readonly key?: LimitKeyFn<In>;
}

/** At most `limit` admissions in any sliding window of `period`: run starts (on a flow), attempts (on a task). */
export interface RateLimit<In = never> {
  /** An integer from 1 to {@link MAX_RATE}. */
  readonly limit: number;
  /** The window: from 1ms to 1 day. */
  readonly period: Duration;
  readonly key?: LimitKeyFn<In>;
}

/** Admission order among runs waiting on one limit: higher first; equal priorities first come, first served. */
export type Priority<In = never> = number | ((input: In) => number);

/** Largest concurrency limit. */
export const MAX_LIMIT = 100_000;
/** Largest rate limit (admissions per window): the window is kept as one entry per admission. */
export const MAX_RATE = 10_000;
/** Priorities run from -1000 to 1000; the default is 0. */
export const MIN_PRIORITY = -1000;
export const MAX_PRIORITY = 1000;
const MAX_PERIOD_MS = 86_400_000;

/** A concurrency limit as the engine holds it. */
export interface ConcurrencySpec {
  readonly limit: number;
  readonly key: ((input: unknown) => unknown) | null;
}
/** A rate limit as the engine holds it. */
export interface RateSpec {
  readonly limit: number;
  readonly periodMs: number;
  readonly key: ((input: unknown) => unknown) | null;
}
/** The limits of a task or a workflow, normalised. */
export interface LimitSpecs {
  readonly concurrency?: ConcurrencySpec;
  readonly rateLimit?: RateSpec;
}
/** A workflow's flow control: its limits and its runs' priority. */
export interface FlowLimitSpecs extends LimitSpecs {
  readonly priority?: number | ((input: unknown) => unknown);
}

const CONCURRENCY_OPTION_NAMES = optionNames<ConcurrencyLimit>({ limit: true, key: true });
const RATE_OPTION_NAMES = optionNames<RateLimit>({ limit: true, period: true, key: true });

/** @throws ValidationError naming `where` and the option: not an object, an unknown field, a limit out of range, a key that is not a function. */
export function concurrencySpec(value: unknown, where: string): ConcurrencySpec {
  const what = `${where}: concurrency`;
  checkOptions(what, value, CONCURRENCY_OPTION_NAMES);
  const { limit, key } = value as ConcurrencyLimit<unknown>;
  return Object.freeze({ limit: limitIn(limit, `${what}.limit`, MAX_LIMIT), key: keyFn(key, `${what}.key`) });
}

/** @throws ValidationError naming `where` and the option: as {@link concurrencySpec}, and a period that is not a duration from 1ms to 1 day. */
export function rateSpec(value: unknown, where: string): RateSpec {
  const what = `${where}: rateLimit`;
  checkOptions(what, value, RATE_OPTION_NAMES);
  const { limit, period, key } = value as RateLimit<unknown>;
  if (period === undefined) throw new ValidationError(`${what}.period is required (a duration such as "1s")`);
  const periodMs = toMs(period, `${what}.period`);
  if (periodMs < 1 || periodMs > MAX_PERIOD_MS) {
    throw new ValidationError(`${what}.period must be between 1ms and 1d, got ${String(period)}`, { value: String(period) });
  }
  return Object.freeze({ limit: limitIn(limit, `${what}.limit`, MAX_RATE), periodMs, key: keyFn(key, `${what}.key`) });
}

/** @throws ValidationError naming `where` unless `value` is an integer priority in range or a function. */
export function prioritySpec(value: unknown, where: string): number | ((input: unknown) => unknown) {
  if (typeof value === "function") return value as (input: unknown) => unknown;
  return priorityValue(value, `${where}: priority`);
}

/** A priority as computed or given. @throws ValidationError naming `what` unless an integer from -1000 to 1000. */
export function priorityValue(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < MIN_PRIORITY || value > MAX_PRIORITY) {
    throw new ValidationError(`${what} must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}, got ${describeValue(value)}`, {
      value: describeValue(value),
    });
  }
  return value;
}

function limitIn(value: unknown, what: string, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(`${what} must be an integer from 1 to ${max}, got ${describeValue(value)}`, { value: describeValue(value) });
  }
  return value;
}

function keyFn(value: unknown, what: string): ((input: unknown) => unknown) | null {
  if (value === undefined) return null;
  if (typeof value !== "function") throw new ValidationError(`${what} must be a function of the input, got ${describeValue(value)}`);
  return value as (input: unknown) => unknown;
}

function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : typeof value === "function" ? "a function" : String(value);
}
