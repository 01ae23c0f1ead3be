/**
 * @parkway/core: define workflows and run them, in process or durably.
 * No I/O dependency; the Redis store and BullMQ workers live in their own packages.
 */
export { flow, branch, LoopResult, FlowBuilder, ForkBuilder, RouteBuilder } from "./builder/flow.js";
export type {
  Branch,
  BranchOutputs,
  ChildOptions,
  DelayFn,
  FlowOptions,
  LoopOptions,
  LoopStep,
  MapOptions,
  RaceResult,
  SignalOptions,
  Target,
} from "./builder/flow.js";
export { MAX_PROGRESS_BYTES, task } from "./builder/task.js";
export {
  defineSignal,
  isSignalDefinition,
  type DefineSignalOptions,
  type SignalDefinition,
  type SignalOutput,
  type SignalPayload,
} from "./builder/signal.js";
export { reachableSignals, signalNamesOf, type CommittedSteps } from "./semantics/signals.js";
export type {
  BackoffOptions,
  CompensateFn,
  RetryOptions,
  Task,
  TaskContext,
  TaskFn,
  TaskOnlyOptions,
  TaskOptions,
  TaskSchemaOptions,
} from "./builder/task.js";
export type { Compensation } from "./builder/workflow.js";
export { compensationKey, FAILURE_KEY, type CompensationOutcome } from "./semantics/compensation.js";
export type { SchemaInput, SchemaIssue, SchemaOutput, StandardSchemaV1, StepSchemas } from "./schema.js";
export { SpanAttributes, TRACER_NAME } from "./tracing.js";
export type { StepFn, Workflow, WorkflowInput, WorkflowOutput } from "./builder/workflow.js";
export { isBuiltWorkflow } from "./builder/workflow.js";
export type {
  AwaitSignalNode,
  ChildNode,
  Continuation,
  DelayNode,
  ForkBranch,
  ForkNode,
  LoopNode,
  RouteBranch,
  RouteNode,
  StepOptions,
  TaskNode,
} from "./tree/nodes.js";
export { nodesOf } from "./tree/nodes.js";
export { type Duration, MAX_DURATION_MS, toMs } from "./duration.js";
export { newId } from "./ids.js";
export { durationInRange, integerInRange } from "./options.js";
export { type Clock, FakeClock, MAX_TIMER_MS, realClock, setLongTimeout } from "./clock.js";
export * from "./errors.js";
export { assertWellFormed } from "./well-formed.js";
export { runSync, type RunSyncOptions } from "./executors/sync.js";
export { runAsync, type RunAsyncOptions } from "./executors/async.js";
export type { StepEvent } from "./executors/context.js";
export { walkWorkflow } from "./semantics/walk.js";
export type {
  AllEffect,
  BranchWalk,
  CallEffect,
  ChildEffect,
  DelayEffect,
  Effect,
  MapEffect,
  RaceEffect,
  RaceOutcome,
  SignalEffect,
  Walk,
} from "./semantics/walk.js";
export { encode, decode, DEFAULT_MAX_PAYLOAD_BYTES, type EncodeOptions } from "./codec/codec.js";
export type {
  AcquireResult,
  CancelListener,
  CommitResult,
  CommitThen,
  ControlResult,
  CountQuery,
  FinishedStatus,
  FinishListener,
  ListOrder,
  ListPage,
  ListQuery,
  NewRun,
  NotAcquired,
  ParkResult,
  PurgeBatch,
  RetentionMs,
  RunHeader,
  RunLink,
  RunStatus,
  SignalBuffer,
  SignalResult,
  SignalTarget,
  StepProgress,
  Store,
  StepKeySet,
  StoredRun,
  TakeSignalResult,
  TimerReason,
  TouchResult,
  Wait,
  WaitRequest,
  WriteResult,
} from "./store/types.js";
export { DEFAULT_RETENTION_MS, FINISHED_STATUSES, RUN_STATUSES, START_WAIT_KEY } from "./store/types.js";
export {
  ATTEMPTS_KEPT,
  HISTORY_LIMIT,
  RECORDED_MESSAGE_CHARS,
  RECORDED_STACK_CHARS,
  RUN_EVENT_TYPES,
  type AttemptRecord,
  type FailedAttempt,
  type RunEvent,
  type RunEventType,
} from "./store/history.js";
export * from "./store/schedule-types.js";
export { Schedules, assertScheduleId, type ScheduleOptions, type ScheduleUpdate, type ScheduleView } from "./engine/schedules.js";
export { fireSchedule, tickRunId, tickAfter, type TickContext } from "./engine/schedule-ticks.js";
export type { DelayedStartOptions } from "./engine/start-at.js";
export { resolveRetention, type RetentionPeriod, type RetentionPolicy } from "./store/retention.js";
export { stepKeyMatcher } from "./store/step-keys.js";
export { configureRetention, definitionKeys, rewindKeys } from "./engine/lifecycle.js";
export { decodeListCursor, encodeListCursor, type ListPosition } from "./store/cursor.js";
export {
  compareForList,
  DEFAULT_LIST_ORDER,
  isPastCursor,
  LIST_ORDERS,
  listPosition,
  listsByFinish,
  matchesListQuery,
} from "./store/list-order.js";
export { MemoryStore, resolveWait, earliestDeadline, type MemoryStoreData } from "./store/memory.js";
export {
  advanceRun,
  type AdvanceOutcome,
  type CheckpointOptions,
  type DefinitionLookup,
  type DurableStepEvent,
} from "./executors/checkpoint.js";
export { createLimiter } from "./executors/limit.js";
export { childSignal, defaultChildId, type ChildOutcome } from "./semantics/children.js";
export { WorkflowRegistry } from "./engine/registry.js";
export {
  DurableClient,
  assertId,
  type ClientOptions,
  type ListRunsQuery,
  type MigrateOptions,
  type PurgeQuery,
  type RewindOptions,
  RunHandle,
  type RunSummary,
  type ProgressView,
  type RunView,
  type StartOptions,
  type SignalWithStartOptions,
  type SendSignalOptions,
  type StepTiming,
  type StepView,
  type BufferedSignalsView,
  type BufferedSignalView,
  type Wake,
  type WakeReason,
  type Waker,
} from "./engine/client.js";
export { BUFFERED_SIGNALS_SHOWN, SIGNAL_PREVIEW_BYTES } from "./engine/run-views.js";
export { describeEvent, type EventWording } from "./engine/event-words.js";
export {
  EmbeddedEngine,
  createEngine,
  createMemoryEngine,
  checkpointOptions,
  DURABLE_RUNNER_OPTIONS,
  type DurableRunnerOptions,
  type EngineOptions,
  type MemoryEngineOptions,
} from "./engine/memory-engine.js";
export {
  registeredWorkflows,
  runWarnings,
  type RegisteredWorkflow,
  type RunWarning,
  type WorkerDirectory,
  type WorkerInfo,
} from "./engine/workers.js";
export { packageVersion } from "./version.js";
export { RunsInFlight, type HeldRun } from "./executors/in-flight.js";
export { describeRun, type BranchView, type StepDetail, type StepNodeView, type StepState } from "./engine/run-tree.js";
export { checkOptions, optionNames } from "./options.js";
export { resolveLogger, silentLogger, type LogFn, type Logger } from "./logger.js";
export { MetricNames, parkwayMetrics, type ParkwayInstruments } from "./metrics.js";
export type { ConcurrencyLimit, LimitKeyFn, Priority, RateLimit } from "./flow-control/options.js";
export { MAX_LIMIT, MAX_PRIORITY, MAX_RATE, MIN_PRIORITY } from "./flow-control/options.js";
export type { TaskLimitOptions } from "./builder/task.js";
export type { FlowLimitOptions } from "./builder/flow.js";
export type { Admission, FlowControl, SlotHold, SlotRequest, WakeOutcome } from "./flow-control/types.js";
export type { Handoff } from "./flow-control/admission.js";
export { parseSlotWaitKey, slotWaitKey, waiterScore, waiterTtlMs } from "./flow-control/types.js";
