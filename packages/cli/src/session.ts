/**
 * What every command shares: the global options, one Redis connection, a
 * `ParkwayClient` on it, and the workflows module when one is given.
 *
 * The CLI opens its own connection (rather than giving the client a URL) so
 * an unreachable Redis fails the command at once with a clear message instead
 * of retrying for as long as a long-lived worker would, and so it can close
 * every connection before it exits.
 */
import { ParkwayClient } from "@parkway/bullmq";
import { isParkwayError, type Workflow } from "@parkway/core";
import { loadWorkflows } from "@parkway/worker";
import { clusterSeeds } from "@parkway/bullmq";
import { Cluster, Redis } from "ioredis";
import { CliError, ExitCode } from "./exit-codes.js";

/** The options every command takes. */
export interface GlobalOptions {
  readonly redis: string;
  readonly namespace: string;
  readonly partitions: number;
  readonly json: boolean;
}

/** A connected client and how to let go of it. */
export interface Session {
  readonly client: ParkwayClient;
  readonly workflows: readonly Workflow<never, unknown>[];
  close(): Promise<void>;
}

/** How long closing may take before the process exits anyway. */
const CLOSE_TIMEOUT_MS = 3000;

/** Connects to Redis and opens a client; `workflows` is given for `start` and `status`. */
export async function openSession(options: GlobalOptions, workflows: readonly Workflow<never, unknown>[] = []): Promise<Session> {
  const redis = await connect(options.redis);
  const client = new ParkwayClient({ connection: redis, namespace: options.namespace, partitions: options.partitions, workflows });
  return {
    client,
    workflows,
    async close() {
      const closing = (async () => {
        await client.close().catch(() => undefined);
        await redis.quit().catch(() => redis.disconnect());
      })();
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
    },
  };
}

async function connect(url: string): Promise<Redis | Cluster> {
  let seeds: ReturnType<typeof clusterSeeds>;
  try {
    seeds = clusterSeeds(url, "--redis");
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.BadArguments);
  }
  if (seeds) return connectCluster(url, seeds);
  let lastError: Error | null = null;
  let redis: Redis;
  try {
    redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 2,
      // A command-line call retries a dropped connection a few times, then fails rather than hang.
      retryStrategy: (attempt) => (attempt > 5 ? null : Math.min(attempt * 200, 1000)),
    });
  } catch (error) {
    throw new CliError(`--redis: "${redact(url)}" is not a Redis URL (${(error as Error).message})`, ExitCode.BadArguments);
  }
  redis.on("error", (error: Error) => (lastError = error));
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const reason = (lastError as Error | null)?.message ?? (error as Error).message;
    throw new CliError(`cannot reach Redis at ${redact(url)}: ${reason}`, ExitCode.Error, "REDIS_UNREACHABLE");
  }
  return redis;
}

/** Connects to a Redis Cluster; fails at once, naming the nodes, when none of them answers. */
async function connectCluster(url: string, seeds: NonNullable<ReturnType<typeof clusterSeeds>>): Promise<Cluster> {
  const cluster = new Cluster(seeds.nodes, {
    lazyConnect: true,
    // A command-line call tries the nodes a few times, then fails rather than hang.
    clusterRetryStrategy: (attempt) => (attempt > 3 ? null : 200),
    redisOptions: { ...seeds.redisOptions, connectTimeout: 5000, maxRetriesPerRequest: 2 },
  });
  let lastError: Error | null = null;
  cluster.on("error", (error: Error) => (lastError = error));
  try {
    await cluster.connect();
  } catch (error) {
    cluster.disconnect();
    const reason = (lastError as Error | null)?.message ?? (error as Error).message;
    throw new CliError(`cannot reach the Redis Cluster at ${redact(url)}: ${reason}`, ExitCode.Error, "REDIS_UNREACHABLE");
  }
  return cluster;
}

/** Loads the workflows a module exports, naming `--workflows` when that fails. */
export async function loadWorkflowsOption(modulePath: string): Promise<Workflow<never, unknown>[]> {
  try {
    return await loadWorkflows(modulePath);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (isParkwayError(error)) throw new CliError(`--workflows: ${message}`, ExitCode.BadArguments, error.code);
    if ((error as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND") {
      throw new CliError(`--workflows: cannot find module "${modulePath}" (${message})`, ExitCode.BadArguments, "MODULE_NOT_FOUND");
    }
    throw new CliError(`--workflows: loading "${modulePath}" failed: ${message}`, ExitCode.Error, "MODULE_FAILED");
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@,]*):[^@/,]*@/g, "//$1:***@");
}
