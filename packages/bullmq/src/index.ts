/**
 * @parkway/bullmq: durable runs across processes and machines. BullMQ carries
 * wake-ups; the Redis store holds the truth.
 */
export { ParkwayClient, type ParkwayClientOptions } from "./client.js";
export { WorkflowWorker, type WorkflowWorkerOptions, type WorkerStats, type Readiness } from "./worker.js";
export { QueueWaker } from "./waker.js";
export { wakeJobId, queuePrefix, WAKE_QUEUE, type WakeJobData } from "./wake-jobs.js";
export type { Connection } from "./connection.js";
/** Deletes a namespace: every partition's runs, indexes and wake-up queue (stop its workers first). */
export { dropNamespace } from "@parkway/redis";
/** The nodes of a comma-separated list of Redis Cluster URLs, as the command lines take them (null for one URL). */
export { clusterSeeds } from "@parkway/redis";
export { startHealthServer, type HealthServer, type HealthSource } from "./health.js";
