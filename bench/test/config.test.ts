/**
 * The bench's flags: what each new one sets, and a bad value is an error
 * naming its flag before anything runs.
 */
import { ValidationError } from "@parkway/core";
import { describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";

const read = (...argv: string[]) => readConfig(argv, {});

describe("bench flags", () => {
  it("runs Parkway on one partition of the Redis at REDIS_URL by default", () => {
    const config = readConfig([], { REDIS_URL: "redis://10.0.0.1:6400" });
    expect(config).toMatchObject({ partitions: 1, redisUrl: "redis://10.0.0.1:6400", redisCluster: false, localRedis: null });
  });

  it("takes a partition count from 1 to 128", () => {
    expect(read("--partitions", "6").partitions).toBe(6);
    for (const bad of ["0", "129", "2.5", "two", ""]) {
      expect(() => read("--partitions", bad), bad).toThrow(ValidationError);
      expect(() => read("--partitions", bad), bad).toThrow(/--partitions/);
    }
  });

  it("takes a Redis Cluster's nodes as host:port or URLs, a list of one included", () => {
    expect(read("--redis-cluster", "127.0.0.1:7000,127.0.0.1:7001")).toMatchObject({
      redisUrl: "redis://127.0.0.1:7000,redis://127.0.0.1:7001",
      redisCluster: true,
      localRedis: null,
    });
    expect(read("--redis-cluster", "redis://10.0.0.2:7000").redisUrl).toBe("redis://10.0.0.2:7000,");
  });

  it("starts a private Cluster of N masters, or a private server, when asked for a local one", () => {
    expect(read("--redis-cluster", "local:3")).toMatchObject({ redisCluster: true, localRedis: { kind: "cluster", masters: 3 } });
    expect(read("--redis", "local")).toMatchObject({ redisCluster: false, localRedis: { kind: "server" } });
  });

  it("refuses a Cluster it cannot make or reach, naming --redis-cluster", () => {
    for (const bad of ["local:2", "local:x", "local", "local:17", "http://10.0.0.1:7000", ",", ""]) {
      expect(() => read("--redis-cluster", bad), bad).toThrow(ValidationError);
      expect(() => read("--redis-cluster", bad), bad).toThrow(/--redis-cluster/);
    }
  });

  it("refuses --redis and --redis-cluster together, and an empty --redis", () => {
    expect(() => read("--redis", "redis://127.0.0.1:6379", "--redis-cluster", "local:3")).toThrow(/--redis and --redis-cluster/);
    expect(() => read("--redis", "")).toThrow(/--redis/);
  });

  it("runs the scale curve when --scale is given, whatever the scenarios", () => {
    expect(read("--scenarios", "linear,work", "--scale", "1,2,4")).toMatchObject({
      scenarios: ["linear", "work", "scale"],
      scale: [1, 2, 4],
    });
    expect(read("--scenarios", "linear,work").scenarios).toEqual(["linear", "work"]);
    expect(() => read("--scale", "1,0")).toThrow(/--scale/);
  });

  it("takes the flow-control scenario's limit and keys", () => {
    expect(read("--scenarios", "flow-control", "--flow-limit", "3", "--flow-keys", "20")).toMatchObject({
      scenarios: ["flow-control"],
      flowLimit: 3,
      flowKeys: 20,
    });
    expect(() => read("--flow-limit", "0")).toThrow(/--flow-limit/);
    expect(() => read("--flow-keys", "-1")).toThrow(/--flow-keys/);
  });

  it("names an unknown scenario, an empty list, an empty number and an unknown flag", () => {
    expect(() => read("--scenarios", "flowctl")).toThrow(/--scenarios: unknown "flowctl"/);
    expect(() => read("--engines", ",")).toThrow(/--engines names none/);
    expect(() => read("--workers", "")).toThrow(/--workers/);
    expect(() => read("--partition", "2")).toThrow(/--partition/);
  });
});
