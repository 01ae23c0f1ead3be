/**
 * @parkway/dashboard: a web dashboard over any `DurableClient`. Run it with
 * `npm run dashboard`, or embed it: `startDashboard({ client, workflows, engine: "redis" })`.
 */
export { createDashboardApp, type Dashboard, type DashboardOptions } from "./app.js";
export { startDashboard, type RunningDashboard, type ServeOptions } from "./serve.js";
export { readSettings, USAGE, type DashboardSettings } from "./settings.js";
export { startDemoEngine, demoWorkflows, restockWorkflow } from "./demo.js";
export type * from "../shared/api.js";
