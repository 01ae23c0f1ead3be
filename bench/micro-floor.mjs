import { spawn } from "node:child_process";
import { Redis } from "ioredis";
const port = 18000 + Math.floor(Math.random() * 1000);
const child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 300));
const redis = new Redis({ port });
const cpu = async () => { const t = await redis.info("cpu"); const f = (n) => Number(new RegExp(`^${n}:([\\d.]+)`, "m").exec(t)[1]); return (f("used_cpu_user") + f("used_cpu_sys")) * 1e6; };
const conns = Array.from({ length: 50 }, () => new Redis({ port }));
const scripts = {
  trivial: "return {0,'committed',1}",
  hgetall: "local f = redis.call('HGETALL', KEYS[1]) return {0,'c',1}",
  hmget6: "local f = redis.call('HMGET', KEYS[1], 'version','lastCommit','requested','status','workflow','createdAt') return {0,'c',1}",
  time: "local t = redis.call('TIME') return {0,'c',1}",
  hset4: "redis.call('HSET', KEYS[1], 'version', '5', 'updatedAt', '1700000000000', 'lastCommit', ARGV[4], 'dueAt', '1700000030000') return {0,'c',1}",
  zadd: "redis.call('ZADD', KEYS[4], ARGV[7], ARGV[2]) return {0,'c',1}",
  hset1: "redis.call('HSET', KEYS[3], ARGV[4], ARGV[5]) return {0,'c',1}",
};
await redis.hset("{m}:run:x", { id: "x", workflow: "w", hash: "h".repeat(16), status: "running", version: "5", waits: "[]", error: "", requested: "", dueAt: "1700000000000", createdAt: "1700000000000", updatedAt: "1700000000000", lastCommit: "s1" });
for (let i = 0; i < 2000; i++) await redis.zadd("{m}:due", 1700000000000 + i, "id" + i);
for (const [name, src] of Object.entries(scripts)) {
  const sha = await redis.script("LOAD", src);
  let n = 0;
  const before = await cpu();
  await Promise.all(conns.map(async (c) => { for (let s = 0; s < 200; s++) { await c.evalsha(sha, 4, "{m}:run:x", "{m}:att:x", "{m}:out:x", "{m}:due", "{m}:", "x", "5", "s" + (n++), "1", "1", String(1700000030000 + n)); } }));
  const after = await cpu();
  console.log(`${name}: ${((after - before) / 10000).toFixed(1)} µs`);
}
conns.forEach((c) => c.disconnect()); redis.disconnect(); child.kill("SIGKILL");
