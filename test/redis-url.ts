/**
 * The Redis every test talks to. `test/redis-setup.ts` (each Redis project's globalSetup) sets REDIS_URL
 * before any test file loads: to the server it found answering, or to the private one it started.
 */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export const REDIS_URL = process.env.REDIS_URL || DEFAULT_REDIS_URL;
