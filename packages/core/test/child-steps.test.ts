import { describe, expect, it } from "vitest";
import { flow, runAsync, runSync, ValidationError, WorkflowRegistry } from "../src/index.js";

const child = flow<number>("kid")
  .then("double", (n) => n * 2)
  .build();

describe("child steps", () => {
  it("runSync and runAsync run the child inline and go on with its output", async () => {
    const parent = flow<number>("parent")
      .child("kid", child)
      .then("inc", (n) => n + 1)
      .build();
    expect(runSync(parent, 4)).toBe(9);
    expect(await runAsync(parent, 4)).toBe(9);
  });

  it("the hash covers the child step and its workflow's name, not the child's definition", () => {
    const a = flow<number>("p").child("kid", child).build();
    const renamed = flow<number>("p").child("other", child).build();
    const otherChild = flow<number>("p")
      .child(
        "kid",
        flow<number>("kid2")
          .then("double", (n) => n)
          .build(),
      )
      .build();
    const edited = flow<number>("p")
      .child(
        "kid",
        flow<number>("kid")
          .then("double", (n) => n * 3)
          .build(),
      )
      .build();
    const named = flow<number>("p")
      .child("kid", child, { instanceId: (n) => `k${n}` })
      .build();
    expect(renamed.hash).not.toBe(a.hash);
    expect(otherChild.hash).not.toBe(a.hash);
    expect(named.hash).not.toBe(a.hash);
    expect(edited.hash).toBe(a.hash);
  });

  it("registering a parent registers its children, without displacing a child given by name", () => {
    const parent = flow<number>("parent-reg").child("kid", child).build();
    const registry = new WorkflowRegistry([parent]);
    expect(registry.find("kid", child.hash)).toBe(child);
    const newer = flow<number>("kid")
      .then("triple", (n) => n * 3)
      .build();
    const both = new WorkflowRegistry([newer, parent]);
    expect(both.latest("kid")).toBe(newer);
    expect(both.find("kid", child.hash)).toBe(child);
  });

  it("bad child arguments are a ValidationError naming the step", () => {
    expect(() =>
      flow<number>("bad")
        .child("kid", {} as never)
        .build(),
    ).toThrow(ValidationError);
    expect(() =>
      flow<number>("bad")
        .child("kid", child, { instanceId: "x" as never })
        .build(),
    ).toThrow(/instanceId/);
    expect(() =>
      flow<number>("bad")
        .child("kid", child, { retry: {} } as never)
        .build(),
    ).toThrow(/retry/);
    const badId = flow<number>("bad-id")
      .child("kid", child, { instanceId: () => "" })
      .build();
    expect(() => runSync(badId, 1)).toThrow(ValidationError);
  });
});
