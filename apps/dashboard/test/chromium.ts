/**
 * The Chromium the browser tests drive, never a browser download: Debian's `/usr/bin/chromium` when it is
 * installed, otherwise the headless Chromium that the npm package @sparticuz/chromium ships (x64 Linux), unpacked
 * from its brotli archives into the temporary directory on first use (about 200 MB; later runs reuse it). That
 * binary needs only glibc, libnss3 and libexpat from the system, and brings its own fonts.
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SYSTEM_CHROMIUM = "/usr/bin/chromium";

export async function chromiumForTests(): Promise<{ executablePath: string; env: Record<string, string> }> {
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, env: {} };
  const { default: packaged } = await import("@sparticuz/chromium");
  const executablePath = await packaged.executablePath();
  // Its fonts unpack beside it; fontconfig finds them only when told where (as on the serverless hosts it targets).
  return { executablePath, env: { FONTCONFIG_PATH: process.env.FONTCONFIG_PATH ?? join(tmpdir(), "fonts") } };
}
