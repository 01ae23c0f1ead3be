import { isBuiltWorkflow, type Workflow } from "../builder/workflow.js";
import { UnknownWorkflowError, ValidationError } from "../errors.js";
import type { DefinitionLookup } from "../executors/checkpoint.js";

/**
 * The workflows a process knows, by name and by definition hash. Several
 * definitions of one name may be registered at once: new runs start on the
 * last one given, and runs started on an older one still find theirs. A
 * workflow's child workflows (`.child(...)`) are registered with it, so a
 * worker that runs a parent runs its children too.
 */
export class WorkflowRegistry implements DefinitionLookup {
  private readonly byHash = new Map<string, Workflow>();
  private readonly latestByName = new Map<string, Workflow>();

  constructor(workflows: readonly Workflow<never, unknown>[] = []) {
    if (!Array.isArray(workflows)) throw new ValidationError("workflows must be an array of built workflows");
    for (const w of workflows as readonly Workflow<never, unknown>[]) this.register(w);
  }

  register(workflow: Workflow<never, unknown>): void {
    if (!isBuiltWorkflow(workflow)) {
      throw new ValidationError("workflows must hold built workflows (call .build() on the flow)");
    }
    this.add(workflow, true);
  }

  /** A child is found by its hash; it is the latest of its name only when none was given by name. */
  private add(workflow: Workflow, given: boolean): void {
    this.byHash.set(`${workflow.name}\u0000${workflow.hash}`, workflow);
    if (given || !this.latestByName.has(workflow.name)) this.latestByName.set(workflow.name, workflow);
    for (const child of workflow.childWorkflows?.values() ?? []) this.add(child, false);
  }

  find(name: string, hash: string): Workflow | undefined {
    return this.byHash.get(`${name}\u0000${hash}`);
  }

  hasName(name: string): boolean {
    return this.latestByName.has(name);
  }

  /** @throws UnknownWorkflowError naming the workflow */
  latest(name: string): Workflow {
    const workflow = this.latestByName.get(name);
    if (!workflow) {
      const known = [...this.latestByName.keys()].map((n) => `"${n}"`).join(", ") || "none";
      throw new UnknownWorkflowError(`no workflow named "${name}" is registered (registered: ${known})`, { workflow: name });
    }
    return workflow;
  }

  get size(): number {
    return this.latestByName.size;
  }
}
