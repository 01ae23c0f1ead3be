/**
 * A BullMQ worker process for the bench's peer: consumes the step jobs of
 * one queue, records the marked ones, and reports each root job (the last
 * step of a flow) once BullMQ has completed it.
 *
 * usage: node bullmq-worker.js <redis-url> <prefix> <queue> <concurrency>
 * (the URL may list a Redis Cluster's nodes, comma-separated, as Parkway's worker takes them)
 */
import { Worker, type Job } from "bullmq";
import { closeConnection, openConnection } from "@parkway/redis";
import { createRecorder, exitWithParent, reportReady } from "../events.js";
import { burnCpu } from "../work.js";
import type { StepJob } from "./bullmq.js";

const [url, prefix, queue, concurrencyText] = process.argv.slice(2);
if (!url || !prefix || !queue || !concurrencyText) {
  console.error("usage: bullmq-worker <redis-url> <prefix> <queue> <concurrency>");
  process.exit(2);
}

const record = createRecorder();
const { redis: connection } = openConnection(url, "bullmq worker", { maxRetriesPerRequest: null });
const worker = new Worker<StepJob>(
  queue,
  async (job: Job<StepJob>) => {
    if (job.data.mark) record(job.data.mark, job.data.run);
    burnCpu(job.data.workMs ?? 0);
    return 0;
  },
  { connection, prefix, concurrency: Number(concurrencyText) },
);
// "completed" fires after BullMQ moved the job to completed: the run is done as BullMQ sees it.
worker.on("completed", (job) => {
  if (job.data.root) record("done", job.data.run);
});
worker.on("error", (error) => console.error("bullmq worker:", error));
await worker.waitUntilReady();
exitWithParent();
reportReady();

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void worker
    .close()
    .then(() => closeConnection(connection))
    .then(() => process.exit(0));
});
