import { packageVersion } from "@parkway/core";

/** This package's version, as workers register it. */
export const BULLMQ_VERSION = packageVersion("@parkway/bullmq", import.meta.url);
