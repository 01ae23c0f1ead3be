/**
 * @parkway/dashboard: a web dashboard over any `DurableClient`. Run it with the
 * `parkway-dashboard` bin, or embed it: `startDashboard({ client, workflows, engine: "redis" })`.
 */
export { createDashboardApp, type Dashboard, type DashboardOptions } from "./app.js";
export { NEEDS_REDIS, runDashboard, type RunDashboardOptions } from "./run.js";
export { startDashboard, type RunningDashboard, type ServeOptions } from "./serve.js";
export { readSettings, USAGE, wantsHelp, type DashboardSettings } from "./settings.js";
export type * from "../shared/api.js";
