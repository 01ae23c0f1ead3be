import { readFileSync } from "node:fs";

/**
 * The version in package `name`'s package.json, found from a file of that package (`import.meta.url`):
 * the nearest package.json above it whose name is `name` (from `src/`, `dist/` and `dist/cjs/` alike;
 * `dist/cjs/package.json` only says `"type": "commonjs"`). "unknown" when there is none.
 */
export function packageVersion(name: string, from: string): string {
  for (let up = "../"; up.length <= 5 * 3; up += "../") {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, from), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === name && typeof pkg.version === "string") return pkg.version;
    } catch {
      // No package.json here, or not readable: look one directory up.
    }
  }
  return "unknown";
}
