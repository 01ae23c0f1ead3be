/**
 * @parkway/redis: the durable store on Redis. One hash-tagged key layout per
 * namespace, one Lua script per atomic operation, all times from Redis TIME.
 */
export { RedisStore, createRedisStore, type RedisStoreOptions } from "./store.js";
export {
  KEY_LAYOUT,
  keyLayout,
  MAX_PARTITIONS,
  namespaceMetaKey,
  partitionOf,
  partitionTag,
  TIMER_HORIZON_MS,
  workerRegistryKeys,
  type KeyLayout,
} from "./keys.js";
export { RedisWorkerRegistry, type WorkerRegistration } from "./workers.js";
export { ScriptErrorCode } from "./script-errors.js";
export { ConnectionWatch } from "./connection-errors.js";
export {
  checkConnection,
  clusterSeeds,
  redactUrl,
  closeConnection,
  connectionAddress,
  duplicateConnection,
  isCluster,
  isRedisConnection,
  openConnection,
  reconnectDelay,
  type ConnectionOptions,
  type OpenedConnection,
  type RedisConnection,
} from "./connection.js";
export { assertNamespace, claimPartitions, dropNamespace, namespaceKeys, partitionsOption, recordedPartitions } from "./namespace.js";
export { limitKeys, RedisFlowControl, type LimitKeys } from "./flow-control.js";
