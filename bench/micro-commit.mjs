// Ad hoc: Redis CPU per store.commit on a private server (not committed).
import { spawn } from "node:child_process";
import { RedisStore } from "@parkway/redis";
import { Redis } from "ioredis";
const port = 17000 + Math.floor(Math.random() * 1000);
const child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 300));
const redis = new Redis({ port });
const store = new RedisStore({ connection: { port }, namespace: "m" });
const cpu = async () => { const t = await redis.info("cpu"); const f = (n) => Number(new RegExp(`^${n}:([\\d.]+)`, "m").exec(t)[1]); return (f("used_cpu_user") + f("used_cpu_sys")) * 1e6; };
const runs = 50, steps = 200;
const versions = [];
for (let i = 0; i < runs; i++) { await store.start({ id: `r${i}`, workflow: "w", hash: "h".repeat(16), input: new Uint8Array([1]) }); const a = await store.acquire(`r${i}`, 30000); versions.push(a.run.header.version); }
const out = new Uint8Array([49]);
for (const round of [0, 1, 2]) {
  const before = await cpu();
  await Promise.all(versions.map(async (v, i) => { for (let s = 0; s < steps; s++) { const r = await store.commit(`r${i}`, versions[i], `s${round}-${s}`, out, 1, 30000); versions[i] = r.version; } }));
  const after = await cpu();
  console.log(`commit: ${((after - before) / (runs * steps)).toFixed(1)} µs Redis CPU`);
}
const b2 = await cpu();
await Promise.all(versions.map((v, i) => store.finish(`r${i}`, v, { status: "completed", result: out })));
const a2 = await cpu();
console.log(`finish: ${((a2 - b2) / runs).toFixed(1)} µs`);
await store.close(); redis.disconnect(); child.kill("SIGKILL");
